/* rpi_gpio: a Raspberry Pi GPIO driver in the style of the bcm2835, wiringPi and pigpio
 * libraries. It maps the BCM2835's GPIO registers through /dev/gpiomem, as they do, and drives
 * three pins: a button on GPIO 17 (an input with the pull-up on), an LED on GPIO 18 and the
 * activity LED of the older boards on GPIO 47 (outputs, blinked), then gives the LEDs back as
 * inputs. Register names and offsets are the BCM2835 ARM Peripherals datasheet's, section 6.1
 * (examples/register-maps/bcm2835_gpio.yaml); the BCM2711 of the Pi 4 moved the pull-up/down
 * control elsewhere, so this is the sequence of the Pi 1 to 3.
 *
 * usage: rpi_gpio [GPIOMEM]
 * GPIOMEM is the file that maps the GPIO registers at offset 0 (default /dev/gpiomem): a virtual
 * device under `mmiotrace record --device regfile@PATH`, or any file of 4096 bytes. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum {
  GPIO_WINDOW_SIZE = 4096, /* what /dev/gpiomem maps: the GPIO block, from its base */

  GPFSEL0 = 0x00, /* function select, ten pins of 3 bits per register */
  GPFSEL1 = 0x04,
  GPFSEL4 = 0x10,
  GPSET0 = 0x1c,    /* writing 1 drives an output high; 0s do nothing */
  GPCLR0 = 0x28,    /* writing 1 drives an output low */
  GPLEV0 = 0x34,    /* the level of every pin */
  GPPUD = 0x94,     /* the pull-up/down to apply ... */
  GPPUDCLK0 = 0x98, /* ... to the pins whose bits are clocked in here */

  FSEL_INPUT = 0,
  FSEL_OUTPUT = 1,
  FSEL_MASK = 7,
  PUD_OFF = 0,
  PUD_UP = 2,

  BUTTON_PIN = 17,
  LED_PIN = 18,
  ACT_LED_PIN = 47,
  BLINKS = 3,
};

static volatile uint8_t* gpio;

static uint32_t read_register(unsigned offset) {
  return *(volatile uint32_t*)(gpio + offset);
}
static void write_register(unsigned offset, uint32_t value) {
  *(volatile uint32_t*)(gpio + offset) = value;
}

/* The pin's bank: pins 0-31 in the first register of a pair (GPSET0...), 32-53 in the second. */
static unsigned bank_offset(unsigned pin) {
  return 4 * (pin / 32);
}
static uint32_t pin_bit(unsigned pin) {
  return 1u << (pin % 32);
}

/* The function of `pin`, changed by a read-modify-write of its GPFSEL register: the other nine
 * pins of the register keep theirs (a UART on GPIO 14 and 15, say). */
static void set_function(unsigned pin, uint32_t function) {
  unsigned offset = GPFSEL0 + 4 * (pin / 10);
  unsigned shift = 3 * (pin % 10);
  uint32_t value = read_register(offset);
  value = (value & ~((uint32_t)FSEL_MASK << shift)) | (function << shift);
  write_register(offset, value);
}
static uint32_t function_of(unsigned pin) {
  return (read_register(GPFSEL0 + 4 * (pin / 10)) >> (3 * (pin % 10))) & FSEL_MASK;
}
/* The name of `pin`'s function in `gpfsel`, the value of its GPFSEL register. */
static const char* function_name(uint32_t gpfsel, unsigned pin) {
  static const char* const names[] = {"input", "output", "ALT5", "ALT4",
                                      "ALT0",  "ALT1",   "ALT2", "ALT3"};
  return names[(gpfsel >> (3 * (pin % 10))) & FSEL_MASK];
}

/* The datasheet asks for 150 core clock cycles of set-up and hold around the pull clock; the
 * libraries wait a few microseconds. */
static void wait_150_cycles(void) {
  struct timespec delay = {0, 10000};
  nanosleep(&delay, NULL);
}

/* The BCM2835 pull sequence (datasheet, GPPUDCLKn): the control in GPPUD, clocked into the pin,
 * then both written back to 0. */
static void set_pull(unsigned pin, uint32_t pull) {
  write_register(GPPUD, pull);
  wait_150_cycles();
  write_register(GPPUDCLK0 + bank_offset(pin), pin_bit(pin));
  wait_150_cycles();
  write_register(GPPUD, PUD_OFF);
  write_register(GPPUDCLK0 + bank_offset(pin), 0);
}

static int level_of(unsigned pin) {
  return (read_register(GPLEV0 + bank_offset(pin)) & pin_bit(pin)) != 0;
}
static void drive(unsigned pin, int high) {
  write_register((high ? GPSET0 : GPCLR0) + bank_offset(pin), pin_bit(pin));
}

int main(int argc, char** argv) {
  if (argc > 2) {
    fprintf(stderr, "usage: rpi_gpio [GPIOMEM]\n");
    return 2;
  }
  const char* path = argc == 2 ? argv[1] : "/dev/gpiomem";
  int fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "rpi_gpio: cannot open %s: %s\n", path, strerror(errno));
    return 1;
  }
  gpio = mmap(NULL, GPIO_WINDOW_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (gpio == MAP_FAILED) {
    fprintf(stderr, "rpi_gpio: cannot map %s: %s\n", path, strerror(errno));
    return 1;
  }
  close(fd);

  uint32_t gpfsel1_before = read_register(GPFSEL1);
  set_function(BUTTON_PIN, FSEL_INPUT);
  set_pull(BUTTON_PIN, PUD_UP);
  set_function(LED_PIN, FSEL_OUTPUT);
  set_function(ACT_LED_PIN, FSEL_OUTPUT);
  uint32_t gpfsel1 = read_register(GPFSEL1);
  uint32_t gpfsel4 = read_register(GPFSEL4);
  printf("GPFSEL1 0x%08" PRIx32 " -> 0x%08" PRIx32 ": GPIO 14 %s, 15 %s, 17 %s, 18 %s\n",
         gpfsel1_before, gpfsel1, function_name(gpfsel1, 14), function_name(gpfsel1, 15),
         function_name(gpfsel1, BUTTON_PIN), function_name(gpfsel1, LED_PIN));
  printf("GPFSEL4 0x%08" PRIx32 ": GPIO 47 %s\n", gpfsel4, function_name(gpfsel4, ACT_LED_PIN));
  int button = level_of(BUTTON_PIN);
  printf("button on GPIO 17: %s\n", button ? "high (released)" : "low (pressed)");

  for (int blink = 0; blink < BLINKS; ++blink) {
    drive(LED_PIN, 1);
    drive(ACT_LED_PIN, 0); /* the activity LED is lit by a low level */
    wait_150_cycles();
    drive(LED_PIN, 0);
    drive(ACT_LED_PIN, 1);
    wait_150_cycles();
  }
  printf("blinked GPIO 18 and 47 %d times\n", BLINKS);

  /* As RPi.GPIO's cleanup() does: the outputs become inputs again. */
  set_function(LED_PIN, FSEL_INPUT);
  set_function(ACT_LED_PIN, FSEL_INPUT);
  int released = function_of(LED_PIN) == FSEL_INPUT && function_of(ACT_LED_PIN) == FSEL_INPUT;
  printf("GPIO 18 and 47 %s\n", released ? "back to input" : "still driven");
  munmap((void*)gpio, GPIO_WINDOW_SIZE);
  return released ? 0 : 1;
}
