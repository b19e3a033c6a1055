#!/bin/sh
# Print the translator's C++ sources, one per line, for binding.gyp and the Makefile.
cd "$(dirname "$0")/.." && find native -name '*.cc' ! -path 'native/addon/*' | sort
