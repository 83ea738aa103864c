#!/usr/bin/env bash
# run.sh OUTDIR [NOTEBOOK...]: the book on an offline GPU machine, in one go (see README, "offline GPU machine").
#
# Installs the bundled wheels with `pip --no-index` into a temporary folder, unpacks
# the repository and Fashion-MNIST next to it, runs the GPU quick check
# (tools.test_gpu), then executes the chapters in full mode (tools.execute), and
# writes the executed notebooks, the results files and a log into OUTDIR, with
# the table of wall times and accuracies printed last. NOTEBOOKs are paths such
# as chapters/01_lenet.ipynb; the default is every chapter.
#
# Two switches, for testing this script on a machine that is not the GPU machine:
#   CNN_BUNDLE_QUICK=1      the execution runs in quick mode (small data, nothing recorded)
#   CNN_BUNDLE_PYTHON=current
#                           run with the current Python and its installed packages instead of
#                           the bundled ones; the wheels are still installed with --no-index,
#                           for Python 3.12 as on the GPU machine, into a folder nothing imports
#                           (this proves they install, not that they run).
set -euo pipefail
if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
  [ $# -ge 1 ] && exit 0 || exit 2
fi
bundle=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
shift
python=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/cnn-course-gpu.XXXXXX")
trap 'rm -rf "$work"' EXIT
exec > >(tee "$out/log.txt") 2>&1  # everything below also goes to the log

echo "== $(date -u +%FT%TZ) on $(hostname), bundle $bundle, work folder $work"
mkdir -p "$work/repo" "$work/data/FashionMNIST/raw" "$work/site"
tar xzf "$bundle/repo.tar.gz" -C "$work/repo"
for gz in "$bundle"/data/*-ubyte.gz; do  # the course reads the unpacked files
  gzip -dc "$gz" > "$work/data/FashionMNIST/raw/$(basename "$gz" .gz)"
done
export CNN_COURSE_DATA="$work/data"

pip_install=("$python" -m pip install -q --disable-pip-version-check --no-index --no-deps --no-compile
             --no-cache-dir --target "$work/site")
if [ "${CNN_BUNDLE_PYTHON:-bundled}" = current ]; then
  echo "== CNN_BUNDLE_PYTHON=current: running with $("$python" --version) and its own packages;"
  echo "   installing the bundled wheels for Python 3.12 only to check that they install offline"
  "${pip_install[@]}" --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    "$bundle"/wheels/*.whl
  export PYTHONPATH="$work/repo${PYTHONPATH:+:$PYTHONPATH}"
else
  "${pip_install[@]}" "$bundle"/wheels/*.whl
  export PYTHONPATH="$work/site:$work/repo${PYTHONPATH:+:$PYTHONPATH}"
fi
echo "== installed $(ls "$bundle"/wheels/*.whl | wc -l) wheels into $work/site"

cd "$work/repo"
notebooks=("$@")
[ ${#notebooks[@]} -gt 0 ] || notebooks=(chapters/*.ipynb)
quick=()
if [ "${CNN_BUNDLE_QUICK:-0}" = 1 ]; then
  quick=(--quick)
  export CNN_COURSE_RESULTS="$work/quick-results"  # this run's results only, not older quick runs'
fi

echo "== GPU quick check (every notebook in quick mode, side by side)"
status=0
"$python" -m tools.test_gpu "${notebooks[@]}" || status=$?
echo "== execution ${quick[*]:-(full mode)}"
"$python" -m tools.execute "${quick[@]}" "${notebooks[@]}" | tee "$work/execute.txt" || status=$?

mkdir -p "$out/chapters" "$out/book_results"
for notebook in "${notebooks[@]}"; do
  cp "$notebook" "${notebook%.ipynb}.md" "$out/chapters/"
done
results=$("$python" -c "import utils; print(utils.results_dir())" 2>/dev/null | tail -n 1)
# Full runs write into utils/book_results (tools.execute sets CNN_COURSE_RESULTS to it); quick runs into $results.
for folder in "$results" utils/book_results; do
  [ -d "$folder" ] && cp "$folder"/*.json "$out/book_results/" 2>/dev/null || true
done
echo "== outputs in $out: chapters/ (executed notebooks and their .md twins), book_results/, log.txt"
echo "== exit status $status"
echo
sed -n '/^chapter /,$p' "$work/execute.txt"
exit $status
