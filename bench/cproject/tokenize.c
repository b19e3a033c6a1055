#include <ctype.h>

#include "wordcount.h"

void tokenize(const char* text, size_t length, char* scratch,
              void (*emit)(const char* word, size_t length, void* context), void* context) {
  size_t word = 0;
  for (size_t i = 0; i <= length; i++) {
    unsigned char c = i < length ? (unsigned char)text[i] : ' ';
    if (isalpha(c)) {
      scratch[word++] = (char)tolower(c);
    } else if (word > 0) {
      emit(scratch, word, context);
      word = 0;
    }
  }
}
