#include <stdlib.h>

#include "wordcount.h"

static const char* const syllables[] = {"ka", "lo", "mi", "nu", "re", "sa", "ti", "vo",
                                        "ba", "de", "fi", "go", "hu", "je", "pa", "zo"};

char* generate_text(size_t words, size_t* length) {
  char* text = malloc(words * 9 + 1);
  size_t used = 0;
  unsigned long state = 12345;
  for (size_t w = 0; w < words; w++) {
    state = state * 6364136223846793005ul + 1442695040888963407ul;
    int parts = 1 + (int)((state >> 33) % 4);
    for (int p = 0; p < parts; p++) {
      const char* syllable = syllables[(state >> (40 + 4 * p)) % 16];
      text[used++] = syllable[0];
      text[used++] = syllable[1];
    }
    text[used++] = ' ';
  }
  text[used] = '\0';
  *length = used;
  return text;
}
