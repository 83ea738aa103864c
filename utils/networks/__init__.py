"""The five networks as chapters 1-5 build them (copied from the chapters by
tools/collect_networks.py), for the chapters that compare or inspect all five."""
from . import lenet
from . import alexnet
from . import vgg
from . import googlenet
from . import resnet

__all__ = ['lenet', 'alexnet', 'vgg', 'googlenet', 'resnet']
