// Interfaces of the wordcount benchmark program, split over several files so that `make -j2`
// has independent compile jobs.
#pragma once

#include <stddef.h>

struct table;

struct entry {
  char* word;
  long count;
};

// table.c: a chained hash table from word to count.
struct table* table_new(size_t buckets);
void table_add(struct table* table, const char* word, size_t length);
size_t table_size(const struct table* table);
struct entry* table_entries(const struct table* table);
void table_free(struct table* table);

// hash.c: the FNV-1a hash of a byte string.
unsigned long hash_bytes(const char* bytes, size_t length);

// tokenize.c: calls `emit` for each run of letters in `text`, lowercased into `scratch`.
void tokenize(const char* text, size_t length, char* scratch,
              void (*emit)(const char* word, size_t length, void* context), void* context);

// sort.c: sorts entries by descending count, then by word.
void sort_entries(struct entry* entries, size_t count);

// generate.c: writes `words` pseudo-random words from a fixed seed into a new buffer.
char* generate_text(size_t words, size_t* length);
