// Start-up for the emulated board (qemu-system-arm -M mps2-an386, a Cortex-M4F): the vector table with the PDM
// interrupt, and a reset handler that sets up memory, the FPU, semihosting and the C++ constructors, then runs main.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern uint32_t __stack_top, __data_load, __data_start, __data_end, __bss_start__, __bss_end__;
extern void initialise_monitor_handles(void);
extern void __libc_init_array(void);
extern int main(void);
extern void PDM_IRQHandler_v(void);

void _init(void) {}
void _fini(void) {}
void* __dso_handle = 0;  // from crtbegin.o, which -nostartfiles leaves out; static destructors register with it

static void fault(void) { exit(3); }  // reported as exit status 3

void Reset_Handler(void) {
  memcpy(&__data_start, &__data_load, (size_t)((char*)&__data_end - (char*)&__data_start));
  memset(&__bss_start__, 0, (size_t)((char*)&__bss_end__ - (char*)&__bss_start__));
  *(volatile uint32_t*)0xE000ED88 |= 0xFu << 20;  // CPACR: full access to the FPU (CP10, CP11)
  __asm volatile("dsb\n isb" ::: "memory");
  initialise_monitor_handles();
  __libc_init_array();
  exit(main());
}

// 16 system exceptions, then 32 interrupts; interrupt 30 is the PDM's, as on the nRF52840.
__attribute__((section(".isr_vector"), used)) static void (*const vectors[16 + 32])(void) = {
    (void (*)(void))(uintptr_t)&__stack_top,
    Reset_Handler,
    [2 ... 6] = fault,  // NMI, HardFault, MemManage, BusFault, UsageFault
    [16 + 30] = PDM_IRQHandler_v,
};
