#!/bin/sh
# Format the C++ sources with clang-format, or with --check only report files that differ.
cd "$(dirname "$0")" || exit 1
files=$(find . -name '*.cc' -o -name '*.h')
if [ "$1" = "--check" ]; then
  exec clang-format --dry-run --Werror $files
fi
exec clang-format -i $files
