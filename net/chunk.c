/* chunk — chunked transfer coding of response bodies (see chunk.h). */
#include "net/chunk.h"

size_t chunk_head(char out[CHUNK_HEAD_MAX], size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char digits[16];
	size_t k = 0;
	do {
		digits[k++] = hex[n & 15];
		n >>= 4;
	} while (n && k < sizeof digits);
	size_t len = 0;
	while (k)
		out[len++] = digits[--k];
	out[len++] = '\r';
	out[len++] = '\n';
	out[len] = 0;
	return len;
}
