// Counts the words of a generated text and prints the five most frequent ones with their
// counts. Usage: wordcount [WORDS]
#include <stdio.h>
#include <stdlib.h>

#include "wordcount.h"

static void count_word(const char* word, size_t length, void* context) {
  table_add(context, word, length);
}

int main(int argc, char** argv) {
  size_t words = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
  size_t length;
  char* text = generate_text(words, &length);
  char* scratch = malloc(length + 1);
  struct table* table = table_new(4096);
  tokenize(text, length, scratch, count_word, table);
  struct entry* entries = table_entries(table);
  size_t size = table_size(table);
  sort_entries(entries, size);
  for (size_t i = 0; i < size && i < 5; i++) printf("%s %ld\n", entries[i].word, entries[i].count);
  free(entries);
  table_free(table);
  free(scratch);
  free(text);
  return 0;
}
