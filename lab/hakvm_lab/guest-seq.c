/* hakvm-seq: the write loop of the lab's test guest (guest-init.sh execs it once the disk is checked).
 *
 *   hakvm-seq DISK LAST BOOT_ID
 *
 * Writes record k = LAST+1, LAST+2, ... once a second, in the format guest-init.sh documents: block k
 * "SEQ <k> <unix time> <boot id>", then block 0 "HAKVM-SEQ LAST <k>", each a 512-byte line padded with
 * spaces, each followed by fsync (page cache written out, the disk's write cache flushed). Only then is
 * "ACK <k>" printed on the console. Every 60th record prints "HAKVM-GUEST ALIVE seq=<k> up=<uptime>".
 * A failed write prints "HAKVM-GUEST ERROR write <k>" and the record is tried again a second later.
 *
 * The shell loop it replaces forked about six processes a record; under emulation inside an emulated
 * host that kept the guest's vCPU, and so its host, busy all the time. This loop makes four system calls.
 * Built static by the lab (gcc, libc6-dev); no other dependency.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 512

static int write_record(int fd, unsigned long long block, const char *text)
{
    char buf[BLOCK];
    size_t len = strlen(text);

    if (len > BLOCK - 1)
        len = BLOCK - 1;
    memset(buf, ' ', BLOCK - 1);
    memcpy(buf, text, len);
    buf[BLOCK - 1] = '\n';
    if (pwrite(fd, buf, BLOCK, (off_t)(block * BLOCK)) != BLOCK)
        return -1;
    return fsync(fd);
}

static double uptime(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_BOOTTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    char text[BLOCK];
    unsigned long long k;
    int fd;

    if (argc != 4) {
        fprintf(stderr, "usage: hakvm-seq DISK LAST BOOT_ID\n");
        return 2;
    }
    k = strtoull(argv[2], NULL, 10) + 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((fd = open(argv[1], O_RDWR | O_CLOEXEC)) < 0) {
        printf("HAKVM-GUEST ERROR open %s: %s\n", argv[1], strerror(errno));
        sleep(5);
    }
    for (;;) {
        snprintf(text, sizeof text, "SEQ %llu %lld %s", k, (long long)time(NULL), argv[3]);
        if (write_record(fd, k, text) == 0) {
            snprintf(text, sizeof text, "HAKVM-SEQ LAST %llu", k);
            if (write_record(fd, 0, text) == 0) {
                printf("ACK %llu\n", k);
                if (k % 60 == 0)
                    printf("HAKVM-GUEST ALIVE seq=%llu up=%.2f\n", k, uptime());
                k++;
                sleep(1);
                continue;
            }
        }
        printf("HAKVM-GUEST ERROR write %llu\n", k);
        sleep(1);
    }
}
