// The crash dump: every fault that is not a first write to a defio page ends here.
//
// HardFault and MemManage go to defio's handler first (defio_mcu_fault_handler, see
// startup.c); what it does not take it hands to port_fault_crash (defio_mcu_fault_next) with
// the registers as they came. BusFault, UsageFault, NMI and unexpected interrupts come here
// directly. The dump is printed with polled UART output (no interrupts, no heap), then the
// board resets with SYSRESETREQ. Never silence.
#include <stddef.h>
#include <stdint.h>

#include "cortexm.h"
#include "mphalport.h"
#include "uart.h"

void port_fault_crash(void);
void port_crash_dump(const uint32_t *frame, uint32_t exc_return);

static void out(const char *s) {
    size_t n = 0;
    while (s[n]) {
        ++n;
    }
    port_stdout_polled(s, n);
}

static void out_hex(const char *label, uint32_t v) {
    char buf[11] = "0x";
    for (int i = 0; i < 8; ++i) {
        buf[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xf];
    }
    buf[10] = 0;
    out(label);
    out(buf);
}

static const char *fault_name(uint32_t exc) {
    static const char *const names[] = {
        "unexpected interrupt", "unexpected interrupt", "NMI", "HardFault", "MemManage",
        "BusFault", "UsageFault", "SecureFault",
    };
    return exc < 8 ? names[exc] : names[0];
}

// Exception frame pushed by the core: r0-r3, r12, lr, pc, xpsr.
void __attribute__((noreturn, used)) port_crash_dump(const uint32_t *frame, uint32_t exc_return) {
    uint32_t ipsr;
    __asm volatile ("mrs %0, ipsr" : "=r" (ipsr));
    out("\r\n*** FATAL ");
    out(fault_name(ipsr & 0x1ff));
    out(" (not a defio page)\r\n");
    out_hex("    PC=", frame[6]);
    out_hex(" LR=", frame[5]);
    out_hex(" xPSR=", frame[7]);
    out_hex(" SP=", (uint32_t)(uintptr_t)frame);
    out_hex(" EXC_RETURN=", exc_return);
    out("\r\n");
    #if !defined(__ARM_ARCH_6M__)
    // ARMv7-M/v8-M Mainline: the fault status and address registers.
    uint32_t cfsr = DEFIO_SCB->CFSR;
    uint32_t addr = 0;
    const char *addr_note = " (not valid)";
    if (cfsr & DEFIO_CFSR_MMARVALID) {
        addr = DEFIO_SCB->MMFAR;
        addr_note = " (MMFAR)";
    } else if (cfsr & DEFIO_CFSR_BFARVALID) {
        addr = DEFIO_SCB->BFAR;
        addr_note = " (BFAR)";
    }
    out_hex("    fault address=", addr);
    out(addr_note);
    out_hex(" CFSR=", cfsr);
    out_hex(" HFSR=", DEFIO_SCB->HFSR);
    out("\r\n");
    #endif
    out_hex("    R0=", frame[0]);
    out_hex(" R1=", frame[1]);
    out_hex(" R2=", frame[2]);
    out_hex(" R3=", frame[3]);
    out_hex(" R12=", frame[4]);
    out("\r\n*** resetting the board\r\n");
    while (!port_uart_tx_done(&port_uart0)) {
    }
    defio_dsb_isb();
    DEFIO_SCB->AIRCR = DEFIO_AIRCR_VECTKEY | DEFIO_AIRCR_SYSRESETREQ;
    defio_dsb_isb();
    for (;;) {
    }
}

// Entry: the stacked frame (MSP or PSP, from EXC_RETURN bit 2) and EXC_RETURN, in ARMv6-M
// instructions.
__attribute__((naked)) void port_fault_crash(void) {
    __asm volatile (
        "movs r0, #4\n"
        "mov r1, lr\n"
        "tst r0, r1\n"
        "mrs r0, msp\n"
        "beq 1f\n"
        "mrs r0, psp\n"
        "1:\n"
        "ldr r2, =port_crash_dump\n"
        "bx r2\n"
        ".ltorg\n"
        );
}
