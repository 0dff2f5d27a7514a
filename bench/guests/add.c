/*
 * add.c - the peers' trivial function as a process: adds two int32s given
 * as arguments and returns the sum as the exit status (low 8 bits).
 * Built static (`cc -static -O2`) by glint-bench, so that starting it needs
 * no dynamic loader and no library: the cheapest process there is.
 */
#include <stdint.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 3)
        return 255;
    int32_t a = (int32_t)strtol(argv[1], NULL, 10);
    int32_t b = (int32_t)strtol(argv[2], NULL, 10);
    return (int)((uint32_t)a + (uint32_t)b) & 0xff;
}
