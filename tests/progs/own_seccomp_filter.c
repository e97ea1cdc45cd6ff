/* A program with a seccomp filter and a SIGSYS handler of its own, under mmiotrace's system-call
 * trap: its filter traps getppid() to its handler, which answers for the kernel; SIGSYS, which
 * it blocks, stays deliverable; a thread contends on a process-private mutex and a condition
 * variable in traced memory (glibc's futex calls, through mmiotrace's trap); and its filter's
 * errno for uname() reaches it. Prints the same lines traced and untraced. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <ucontext.h>

#include "prog_support.h"

enum { kOwnData = 42, kRounds = 3000 };

static volatile int handled;

static void on_sigsys(int signo, siginfo_t* info, void* context) {
  (void)signo;
  ucontext_t* uc = context;
  if (info->si_code == 1 /* SYS_SECCOMP */ && info->si_errno == kOwnData &&
      info->si_syscall == SYS_getppid) {
    uc->uc_mcontext.gregs[REG_RAX] = 4242;
    ++handled;
  }
}

struct Shared {
  pthread_mutex_t mutex;
  pthread_cond_t turn;
  int next; /* whose turn: 0 or 1 */
  int count;
};

static struct Shared* shared;

static void take_turns(int me) {
  for (int i = 0; i < kRounds; ++i) {
    pthread_mutex_lock(&shared->mutex);
    while (shared->next != me)
      pthread_cond_wait(&shared->turn, &shared->mutex);
    ++shared->count;
    shared->next = 1 - me;
    pthread_cond_broadcast(&shared->turn);
    pthread_mutex_unlock(&shared->mutex);
  }
}

static void* other(void* unused) {
  (void)unused;
  take_turns(1);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  volatile uint8_t* regs = map_register_file(argv[1], "device.reg", 4096, 0);

  struct sigaction action = {0};
  action.sa_sigaction = on_sigsys;
  action.sa_flags = SA_SIGINFO;
  if (sigaction(SIGSYS, &action, NULL) != 0) return 3;
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP | kOwnData),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_uname, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog program = {sizeof(filter) / sizeof(filter[0]), filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 4;
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) return 5;

  long parent = (long)getppid();
  printf("getppid: %ld, handled %d\n", parent, handled);
  struct utsname name;
  int refused = uname(&name);
  printf("uname: %d %s\n", refused, refused ? strerror(errno) : "");

  /* SIGSYS blocked by the program: a trapped call still reaches its handler under mmiotrace,
   * which keeps SIGSYS deliverable, and kills the program untraced; so only its mask is shown. */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGSYS);
  printf("sigprocmask: %d\n", sigprocmask(SIG_BLOCK, &block, &old));
  sigprocmask(SIG_SETMASK, &old, NULL);

  shared = (struct Shared*)(regs + 0x100);
  pthread_mutex_init(&shared->mutex, NULL);
  pthread_cond_init(&shared->turn, NULL);
  shared->next = 0;
  shared->count = 0;
  pthread_t thread;
  if (pthread_create(&thread, NULL, other, NULL) != 0) return 6;
  take_turns(0);
  pthread_join(thread, NULL);
  printf("turns: %d\n", shared->count);
  puts("EXIT-SUCCESS");
  return 0;
}
