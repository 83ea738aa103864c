"""`python -m tools.break_and_catch [NAME...]`: prove that the utils tests can fail.

Each row breaks `utils` in one way (a bug the tests are meant to catch), runs the test
that guards it, and restores the file, whatever happens. The table says CAUGHT when the
test failed on the broken code and MISSED when it passed anyway. Give words of the row
names to run only those rows. tests/test_break_and_catch.py checks that every snippet
still occurs exactly once in its file, so the table cannot silently go stale.
"""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# (what breaks, file, snippet, broken snippet, the test meant to catch it)
MUTATIONS = [
    ("resume switched off (checkpoint never loaded)", "utils/training.py", "        if Path(checkpoint).exists():", "        if False:", "tests/test_resume.py"),
    ("a finished run is trained again", "utils/training.py", "    for epoch in range(history.epochs, num_epochs):", "    for epoch in range(0, num_epochs):", "tests/test_resume.py::test_a_finished_run_is_not_trained_again"),
    ("cosine schedule ignored", "utils/training.py", "        if scheduler is not None:\n            scheduler.step()", "        pass", "tests/test_training.py::test_cosine_schedule_decays_the_rate_each_epoch"),
    ("weight_decay dropped", "utils/training.py", "return OPTIMIZERS[name](net.parameters(), lr=lr, weight_decay=weight_decay, **extra)", "return OPTIMIZERS[name](net.parameters(), lr=lr, **extra)", "tests/test_training.py::test_weight_decay_shrinks_the_weights"),
    ("a passed optimizer replaced by a new one", "utils/training.py", "        return optimizer\n", "        return type(optimizer)(net.parameters(), lr=lr)\n", "tests/test_training.py::test_a_passed_optimizer_instance_is_the_one_used"),
    ("scheduler state not restored on resume", "utils/training.py", "        scheduler.load_state_dict(state[\"scheduler\"])", "        pass", "tests/test_resume.py"),
    ("training loss averaged per batch", "utils/training.py", "loss_sum += loss.detach().float() * len(labels)", "loss_sum += loss.detach().float() * train_iter.batch_size", "tests/test_training.py::test_the_training_loss_is_a_mean_per_example_not_per_batch"),
    ("changed settings accepted on resume", "utils/checkpoint.py", "    if changed:\n", "    if False:\n", "tests/test_resume.py::test_resuming_with_other_settings_is_refused_and_names_the_fix"),
    ("fewer epochs return the old history", "utils/checkpoint.py", "    if asked < planned:", "    if False:", "tests/test_resume.py::test_resuming_with_other_settings_is_refused_and_names_the_fix"),
    ("quick-mode checkpoint continued by a full run", "utils/training.py", "\"quick_mode\": is_quick(), ", "", "tests/test_resume.py::test_other_data_or_quick_mode_is_refused"),
    ("more epochs with cosine accepted", "utils/checkpoint.py", "    if asked > planned and now[\"lr_schedule\"] is not None:", "    if False:", "tests/test_resume.py::test_more_epochs_with_a_cosine_schedule_are_refused"),
    ("optimizer type not recorded (SGD->Adam)", "utils/training.py", "\"optimizer\": type(opt).__name__,", "", "tests/test_resume.py::test_resuming_with_other_settings_is_refused_and_names_the_fix"),
    ("checkpoint path not checked before training", "utils/training.py", "        check_writable(checkpoint)\n", "", "tests/test_resume.py::test_an_unwritable_checkpoint_path_fails_before_any_training"),
    ("optimizer of another model accepted", "utils/training.py", "        if not theirs or any(id(p) not in ours for p in theirs):", "        if False:", "tests/test_training.py::test_an_optimizer_of_another_model_or_another_lr_is_refused"),
    ("lr ignored with an optimizer instance", "utils/training.py", "        if optimizer.param_groups[0][\"lr\"] != lr:", "        if False:", "tests/test_training.py::test_an_optimizer_of_another_model_or_another_lr_is_refused"),
    ("evaluate_accuracy returns 0.0 on empty data", "utils/training.py", "    if total == 0:\n        raise", "    if total == 0:\n        return 0.0\n        raise", "tests/test_training.py::test_empty_data_gets_an_error_naming_it"),
    ("NaN loss trains on", "utils/training.py", "        if step:\n            raise FloatingPointError", "        if False:\n            raise FloatingPointError", "tests/test_training.py::test_a_non_finite_loss_stops_training_with_step_epoch_and_rate"),
    ("loss checked every step (the CPU waits for the GPU each step)", "utils/training.py", "            non_finite.record(loss.detach(), step=epoch * num_batches + i + 1)\n", "            non_finite.record(loss.detach(), step=epoch * num_batches + i + 1)\n            non_finite.check(num_batches, opt)\n", "tests/test_training.py::test_training_reads_tensors_a_fixed_number_of_times_per_epoch_not_per_step"),
    ("keep_best keeps the last epoch", "utils/training.py", "        net.load_state_dict(best_weights)\n    print", "        pass\n    print", "tests/test_training.py::test_keep_best_leaves_the_weights_of_the_best_epoch"),
    ("keep_best copies a reference, not the weights", "utils/training.py", "best_weights = copy.deepcopy(net.state_dict())", "best_weights = net.state_dict()", "tests/test_training.py::test_keep_best_leaves_the_weights_of_the_best_epoch"),
    ("loss class instead of instance accepted", "utils/checks.py", "    if isinstance(loss_fn, type):", "    if False:", "tests/test_training.py::test_a_loss_class_instead_of_an_instance_names_the_fix"),
    ("empty training set not caught", "utils/training.py", "    if num_batches == 0:\n        raise", "    if False:\n        raise", "tests/test_training.py::test_empty_data_gets_an_error_naming_it"),
    ("resize=224.0 not explained ('float' object is not iterable)", "utils/common.py", "pair = (resize, resize) if not isinstance(resize, (tuple, list)) else tuple(resize)", "pair = (resize, resize) if isinstance(resize, int) else tuple(resize)", "tests/test_data.py::test_bad_resize_is_refused"),
    ("NumPy integers refused", "utils/common.py", "number = operator.index(value)", "number = value if type(value) is int else operator.index(str(value))", "tests/test_data.py::test_numpy_integers_are_accepted_and_floats_get_a_hint"),
    ("quick-mode value 'off' turns quick mode on", "utils/runtime.py", "QUICK_ON, QUICK_OFF = (\"1\", \"yes\", \"on\", \"true\"), (\"\", \"0\", \"no\", \"off\", \"false\")", "QUICK_ON, QUICK_OFF = (\"1\", \"yes\", \"on\", \"true\", \"off\"), (\"\", \"0\", \"no\", \"false\")", "tests/test_runtime.py::test_quick_mode_values"),
    ("read-only data folder gives a raw OSError", "utils/fashion_mnist.py", "    except OSError as error:  # a read-only folder", "    except ZeroDivisionError as error:  # a read-only folder", "tests/test_data.py::test_an_unwritable_data_folder_names_root_and_the_variable"),
    ("truncated .gz gives EOFError", "utils/fashion_mnist.py", "        except (EOFError, gzip.BadGzipFile, zlib.error) as error:", "        except ZeroDivisionError as error:", "tests/test_data.py::test_a_truncated_debian_file_names_the_file_and_leaves_no_half_output"),
    ("one-class folder accepted", "utils/folders.py", "    if len(images) < 2:", "    if False:", "tests/test_folders.py::test_a_one_class_folder_is_refused"),
    ("16-bit PNGs clipped to white", "utils/folders.py", "    if image.mode.startswith(\"I\"):", "    if False:", "tests/test_folders.py::test_sixteen_bit_png_images_keep_their_brightness"),
    ("predict converts grayscale models' input to RGB", "utils/predict.py", "    channels = mapping.get(\"channels\", 3)", "    channels = 3", "tests/test_folders.py::test_predict_serves_a_grayscale_fashion_mnist_model_and_pil_images_and_tensors"),
    ("validation images leak into training", "utils/data.py", "val_pick, train_pick = order[:held_out], order[held_out:]", "val_pick, train_pick = order[:held_out], order", "tests/test_data.py::test_a_validation_set_is_held_out_of_the_training_images"),
    ("--help ignored (runs the data lookup)", "utils/__main__.py", "    args = parser.parse_args(argv)", "    args = type('Args', (), {'root': None, 'no_download': True})()", "tests/test_runtime.py::test_help_prints_usage_and_touches_no_data"),
    ("results written without model costs", "utils/results.py", "\"costs\": costs, ", "", "tests/test_results.py::test_saved_results_hold_costs_test_accuracy_settings_and_history"),
    ("older results file read as if current", "utils/results.py", "        if missing:", "        if False:", "tests/test_results.py::test_a_results_file_from_an_older_version_is_skipped_with_a_warning"),
    ("students' runs overwrite the book's results", "utils/results.py", "    return Path.cwd() / \"cnn-course-results\"", "    return BOOK_RESULTS", "tests/test_results.py::test_a_students_runs_never_write_into_the_books_results"),
    ("a damaged results file stops load_results", "utils/results.py", "        except (ValueError, UnicodeDecodeError) as error:", "        except ZeroDivisionError as error:", "tests/test_results.py::test_a_damaged_results_file_is_skipped_with_a_warning_and_the_others_still_load"),
    ("predict ignores the kept best weights", "utils/predict.py", "    if state.get(\"best_model\") is not None:", "    if False:", "tests/test_folders.py::test_predict_from_a_checkpoint_uses_the_weights_train_left_in_the_network"),
    ("checkpoint matched by shapes only (Sigmoid->ReLU resumes)", "utils/checkpoint.py", "    return ([f\"{name or '(model)'}: {type(module).__name__}\" for name, module in net.named_modules()]\n            + ", "    return (", "tests/test_resume.py::test_an_edit_that_keeps_every_shape_is_a_different_model"),
    ("predict labels with a network of another class count", "utils/predict.py", "            if probabilities.shape[1] != len(mapping[\"classes\"]):", "            if False:", "tests/test_folders.py::test_predict_refuses_a_network_with_another_number_of_classes"),
    ("training on a class count the data lacks", "utils/checks.py", "    if classes is not None and output.dim() == 2 and output.shape[1] != len(classes):", "    if False:", "tests/test_training.py::test_a_network_that_does_not_fit_the_data_names_the_fix"),
    ("a folder's batches ignore device", "utils/folders.py", "        if self.device is None:\n            return batches", "        return batches", "tests/test_folders.py::test_load_data_moves_a_folders_batches_to_device_and_refuses_root"),
    ("num_epochs=True trains one epoch", "utils/common.py", "    if isinstance(value, bool) or number <= 0:", "    if number <= 0:", "tests/test_training.py::test_arguments_of_the_wrong_type_name_the_fix"),
    ("device='cuda' without a GPU fails deep in torch", "utils/runtime.py", "    if parsed.type == \"cuda\" and not torch.cuda.is_available():", "    if False:", "tests/test_training.py::test_cuda_without_a_gpu_is_refused_everywhere_a_device_is_taken"),
    ("set_seed takes any seed", "utils/runtime.py", "    if not valid:\n        raise", "    if False:\n        raise", "tests/test_runtime.py::test_a_seed_that_is_not_an_int_in_range_is_refused"),
    ("one batch passed to evaluate_accuracy", "utils/training.py", "    refuse_one_batch(data_iter, \"evaluate_accuracy's data_iter\")\n", "", "tests/test_training.py::test_one_batch_instead_of_the_batches_is_named"),
    ("count_macs misreads (1, C, H, W)", "utils/profile.py", "    if len(size) == 4 and size[0] == 1:", "    if False:", "tests/test_profile.py::test_image_sizes_without_channels_or_with_a_batch_axis_are_named_or_read_right"),
    ("quick subsets of another size", "utils/data.py", "QUICK_TRAIN_SIZE, QUICK_TEST_SIZE = 2048, 256", "QUICK_TRAIN_SIZE, QUICK_TEST_SIZE = 2000, 250", "tests/test_data.py::test_quick_mode_subsets_are_fixed_sized_and_keep_validation_apart"),
    ("folder labels numbered in another order than classes", "utils/folders.py", "        self.classes = sorted(images)", "        self.classes = sorted(images, reverse=True)", "tests/test_folders.py::test_every_label_is_the_index_of_its_class_folder_in_classes"),
    ("the last of equal epochs is best", "utils/training.py", "max(range(self.epochs), key=self.val_acc.__getitem__)", "max(range(self.epochs), key=lambda e: (self.val_acc[e], e))", "tests/test_training.py::test_the_best_epoch_is_the_first_of_equal_ones_and_quick_caps_are_the_readmes"),
    ("val_size drops test images", "utils/data.py", "    test_pick = torch.arange(len(test_y))", "    test_pick = torch.arange(held_out, len(test_y))", "tests/test_data.py::test_a_validation_set_is_held_out_of_the_training_images"),
    ("a wrong channel count gets torch's raw error", "utils/checks.py", "    if isinstance(layer, (nn.Conv1d, nn.Conv2d, nn.Conv3d)) and got[1] != layer.in_channels:", "    if False:", "tests/test_training.py::test_a_network_that_does_not_fit_the_data_names_the_fix"),
    ("a state_dict file read as a foreign checkpoint", "utils/checkpoint.py", "    if isinstance(state, dict) and state and all(isinstance(t, torch.Tensor) for t in state.values()):", "    if False:", "tests/test_folders.py::test_predict_names_the_fix_for_a_folder_a_state_dict_and_raw_pixels"),
]


def run(name: str, file: str, old: str, new: str, test: str) -> str:
    path = REPO / file
    source = path.read_text()
    if source.count(old) != 1:
        return f"SNIPPET FOUND {source.count(old)} TIMES: update this row"
    path.write_text(source.replace(old, new))
    try:
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", test],
                                cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                                capture_output=True, text=True, timeout=600)
    finally:
        path.write_text(source)
    last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-200:]
    return ("CAUGHT: " if result.returncode else "MISSED: ") + last


def main(words: list[str]) -> int:
    missed = 0
    for name, file, old, new, test in MUTATIONS:
        if words and not any(word in name for word in words):
            continue
        outcome = run(name, file, old, new, test)
        missed += not outcome.startswith("CAUGHT")
        print(f"{name} | {file} | {test.split('::')[-1]} | {outcome}", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
