/* System calls that reach the kernel without a wrapper mmiotrace can interpose, on traced memory:
 * glibc's own futex calls for a process-shared robust mutex that two processes fight over, and
 * raw syscall() of futex (two threads), getrandom, sendmsg and recvmsg; and the wrappers
 * getrandom, arc4random_buf (which glibc fills with getrandom inside itself), sendmsg, recvmsg.
 * Untraced and traced, the program prints the same lines and exits 0; the kernel's EFAULT on an
 * armed page would make glibc abort, or a check print another line. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "prog_support.h"

enum {
  kMutexAt = 0x0,      /* pthread_mutex_t, process-shared and robust */
  kCounterAt = 0x80,   /* incremented under the mutex by both processes */
  kWordAt = 0x100,     /* a futex word two threads wait and wake on */
  kRandomAt = 0xfc0,   /* random bytes, across the page boundary */
  kMessageAt = 0x1200, /* sendmsg()'s data */
  kReceivedAt = 0x1400 /* recvmsg()'s */
};
enum { kRounds = 2000, kRandomBytes = 48 };

static volatile uint8_t* regs;

static long futex(volatile void* word, int operation, uint32_t value) {
  return syscall(SYS_futex, (void*)word, operation, value, NULL, NULL, 0);
}

/* Waits on the traced word until it holds 1, then sets it to 2 and wakes the main thread. */
static void* waiter(void* unused) {
  (void)unused;
  while (load32(regs + kWordAt) == 0) {
    if (futex(regs + kWordAt, FUTEX_WAIT, 0) != 0 && errno != EAGAIN && errno != EINTR) {
      printf("futex wait: %s\n", strerror(errno));
      return NULL;
    }
  }
  store32(regs + kWordAt, 2);
  futex(regs + kWordAt, FUTEX_WAKE, 1);
  return NULL;
}

static void fight_over_mutex(pthread_mutex_t* mutex) {
  for (int i = 0; i < kRounds; ++i) {
    if (pthread_mutex_lock(mutex) != 0) exit(20);
    store32(regs + kCounterAt, load32(regs + kCounterAt) + 1);
    if (pthread_mutex_unlock(mutex) != 0) exit(21);
  }
}

static int nonzero_bytes(volatile uint8_t* bytes, size_t size) {
  int count = 0;
  for (size_t i = 0; i < size; ++i)
    count += load8(bytes + i) != 0;
  return count;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  regs = map_register_file(argv[1], "device.reg", 2 * 4096, 0);

  /* A process-shared robust mutex (as LMDB keeps in its lock file), which a child process and
   * this one take in turn: the loser of each race waits in glibc's own futex call. */
  pthread_mutexattr_t attributes;
  pthread_mutexattr_init(&attributes);
  pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_t* mutex = (pthread_mutex_t*)(regs + kMutexAt);
  if (pthread_mutex_init(mutex, &attributes) != 0) return 3;
  store32(regs + kCounterAt, 0);
  if (pthread_mutex_lock(mutex) != 0) return 4;
  pid_t child = fork();
  if (child < 0) return 5;
  if (child == 0) {
    fight_over_mutex(mutex);
    _exit(0);
  }
  usleep(50 * 1000); /* the child waits on the locked mutex meanwhile */
  if (pthread_mutex_unlock(mutex) != 0) return 6;
  fight_over_mutex(mutex);
  int status = 0;
  if (waitpid(child, &status, 0) != child) return 7;
  printf("mutex: child %s %d, counter %u\n", WIFEXITED(status) ? "exited" : "killed by",
         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), load32(regs + kCounterAt));

  /* Raw futex(): a thread waits on a traced word until this one sets and wakes it. */
  store32(regs + kWordAt, 0);
  pthread_t thread;
  if (pthread_create(&thread, NULL, waiter, NULL) != 0) return 8;
  usleep(20 * 1000);
  store32(regs + kWordAt, 1);
  futex(regs + kWordAt, FUTEX_WAKE, 1);
  while (load32(regs + kWordAt) != 2)
    futex(regs + kWordAt, FUTEX_WAIT, 1);
  pthread_join(thread, NULL);
  printf("futex: word %u\n", load32(regs + kWordAt));

  /* getrandom, raw and through glibc, into traced memory zeroed first. */
  for (int i = 0; i < 3 * kRandomBytes; ++i)
    store8(regs + kRandomAt + i, 0);
  long got = syscall(SYS_getrandom, (void*)(regs + kRandomAt), kRandomBytes, 0);
  ssize_t wrapped = getrandom((void*)(regs + kRandomAt + kRandomBytes), kRandomBytes, 0);
  arc4random_buf((void*)(regs + kRandomAt + 2 * kRandomBytes), kRandomBytes);
  /* 48 random bytes with fewer than 40 non-zero ones: about 1 in 10^40. */
  printf(
      "getrandom: %ld %zd, %s %s %s\n", got, wrapped,
      nonzero_bytes(regs + kRandomAt, kRandomBytes) > 40 ? "random" : "zeros",
      nonzero_bytes(regs + kRandomAt + kRandomBytes, kRandomBytes) > 40 ? "random" : "zeros",
      nonzero_bytes(regs + kRandomAt + 2 * kRandomBytes, kRandomBytes) > 40 ? "random" : "zeros");

  /* sendmsg and recvmsg, raw and through glibc, with data in traced memory. */
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM, 0, pair) != 0) return 9;
  const char* text = "from traced memory";
  size_t length = strlen(text);
  for (size_t i = 0; i < length; ++i)
    store8(regs + kMessageAt + i, (uint8_t)text[i]);
  char local[8] = "+local";
  struct iovec out[2] = {{(void*)(regs + kMessageAt), length}, {local, 6}};
  struct msghdr sent = {.msg_iov = out, .msg_iovlen = 2};
  long sent_raw = syscall(SYS_sendmsg, pair[0], &sent, 0);
  ssize_t sent_wrapped = sendmsg(pair[0], &sent, 0);
  char received_text[2][64];
  for (int round = 0; round < 2; ++round) {
    struct iovec in[1] = {{(void*)(regs + kReceivedAt), 64}};
    struct msghdr received = {.msg_iov = in, .msg_iovlen = 1};
    long size =
        round == 0 ? syscall(SYS_recvmsg, pair[1], &received, 0) : recvmsg(pair[1], &received, 0);
    if (size < 0 || size >= 64) {
      printf("recvmsg: %s\n", strerror(errno));
      return 10;
    }
    for (long i = 0; i < size; ++i)
      received_text[round][i] = (char)load8(regs + kReceivedAt + i);
    received_text[round][size] = '\0';
  }
  printf("sendmsg: %ld %zd\nrecvmsg: \"%s\" \"%s\"\n", sent_raw, sent_wrapped, received_text[0],
         received_text[1]);
  puts("EXIT-SUCCESS");
  return 0;
}
