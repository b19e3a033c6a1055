#include <stdlib.h>
#include <string.h>

#include "wordcount.h"

struct node {
  struct node* next;
  struct entry entry;
};

struct table {
  struct node** buckets;
  size_t bucket_count;
  size_t size;
};

struct table* table_new(size_t buckets) {
  struct table* table = calloc(1, sizeof *table);
  table->buckets = calloc(buckets, sizeof *table->buckets);
  table->bucket_count = buckets;
  return table;
}

void table_add(struct table* table, const char* word, size_t length) {
  size_t bucket = hash_bytes(word, length) % table->bucket_count;
  for (struct node* node = table->buckets[bucket]; node != NULL; node = node->next) {
    if (strlen(node->entry.word) == length && memcmp(node->entry.word, word, length) == 0) {
      node->entry.count++;
      return;
    }
  }
  struct node* node = malloc(sizeof *node);
  node->entry.word = strndup(word, length);
  node->entry.count = 1;
  node->next = table->buckets[bucket];
  table->buckets[bucket] = node;
  table->size++;
}

size_t table_size(const struct table* table) { return table->size; }

struct entry* table_entries(const struct table* table) {
  struct entry* entries = malloc(table->size * sizeof *entries);
  size_t next = 0;
  for (size_t b = 0; b < table->bucket_count; b++) {
    for (struct node* node = table->buckets[b]; node != NULL; node = node->next) {
      entries[next++] = node->entry;
    }
  }
  return entries;
}

void table_free(struct table* table) {
  for (size_t b = 0; b < table->bucket_count; b++) {
    struct node* node = table->buckets[b];
    while (node != NULL) {
      struct node* next = node->next;
      free(node->entry.word);
      free(node);
      node = next;
    }
  }
  free(table->buckets);
  free(table);
}
