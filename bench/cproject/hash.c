#include "wordcount.h"

unsigned long hash_bytes(const char* bytes, size_t length) {
  unsigned long hash = 14695981039346656037ul;
  for (size_t i = 0; i < length; i++) {
    hash ^= (unsigned char)bytes[i];
    hash *= 1099511628211ul;
  }
  return hash;
}
