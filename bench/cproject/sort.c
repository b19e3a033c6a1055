#include <stdlib.h>
#include <string.h>

#include "wordcount.h"

static int compare(const void* a, const void* b) {
  const struct entry* left = a;
  const struct entry* right = b;
  if (left->count != right->count) return left->count < right->count ? 1 : -1;
  return strcmp(left->word, right->word);
}

void sort_entries(struct entry* entries, size_t count) {
  qsort(entries, count, sizeof *entries, compare);
}
