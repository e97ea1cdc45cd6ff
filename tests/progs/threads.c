/* Threads started before the first traced mapping, and after it, are traced alike. */
#include <pthread.h>

#include "prog_support.h"

static volatile uint8_t* regs;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mapped = PTHREAD_COND_INITIALIZER;

static void* early_thread(void* argument) {
  (void)argument;
  pthread_mutex_lock(&lock);
  while (regs == NULL)
    pthread_cond_wait(&mapped, &lock);
  pthread_mutex_unlock(&lock);
  store32(regs + 0x10, 0xe1);
  return NULL;
}

static void* late_thread(void* argument) {
  (void)argument;
  store32(regs + 0x20, load32(regs + 0x10) + 1);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  pthread_t early, late;
  pthread_create(&early, NULL, early_thread, NULL);
  volatile uint8_t* map = map_register_file(argv[1], "device.reg", 4096, 0);
  pthread_mutex_lock(&lock);
  regs = map;
  pthread_cond_signal(&mapped);
  pthread_mutex_unlock(&lock);
  pthread_join(early, NULL);
  pthread_create(&late, NULL, late_thread, NULL);
  pthread_join(late, NULL);
  printf("%08x\n", load32(regs + 0x20));
  puts("EXIT-SUCCESS");
  return 0;
}
