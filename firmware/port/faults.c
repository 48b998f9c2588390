// Fault handlers: the defio page trigger and the crash dump.
//
// MemManage runs at the highest configurable priority. A data access violation whose
// address (MMFAR) belongs to a live defio instance is a first write to a clean page: the
// core records it and opens the page, we clear the status bits and return, and the store
// re-executes. A write while MemManage cannot preempt (PRIMASK set by an atomic section or
// machine.disable_irq(), or from a handler of equal priority) escalates to HardFault with
// HFSR.FORCED: HardFault checks the same MemManage status and handles it the same way.
//
// Anything else prints a crash dump on the REPL UART (polled output, no interrupts, no
// heap) and resets the board with SYSRESETREQ. Never silence.
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cortexm.h"
#include "defio_core.h"
#include "mphalport.h"
#include "uart.h"

#define CFSR_DACCVIOL (1u << 1)

enum {
    FAULT_HARD,
    FAULT_MEMMANAGE,
    FAULT_BUS,
    FAULT_USAGE,
    FAULT_NMI,
    FAULT_IRQ,
};

static const char *const fault_names[] = {
    "HardFault", "MemManage", "BusFault", "UsageFault", "NMI", "unexpected interrupt",
};

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

// Exception frame pushed by the core: r0-r3, r12, lr, pc, xpsr.
static void __attribute__((noreturn)) crash_dump(int kind, const uint32_t *frame,
    uint32_t exc_return) {
    uint32_t cfsr = SCB_CFSR;
    uint32_t hfsr = SCB_HFSR;
    uint32_t addr = 0;
    const char *addr_note = " (not valid)";
    if (cfsr & CFSR_MMARVALID) {
        addr = SCB_MMFAR;
        addr_note = " (MMFAR)";
    } else if (cfsr & CFSR_BFARVALID) {
        addr = SCB_BFAR;
        addr_note = " (BFAR)";
    }
    out("\r\n*** FATAL ");
    out(fault_names[kind]);
    out(" (not a defio page)\r\n");
    out_hex("    PC=", frame[6]);
    out_hex(" LR=", frame[5]);
    out_hex(" xPSR=", frame[7]);
    out_hex(" SP=", (uint32_t)(uintptr_t)frame);
    out_hex(" EXC_RETURN=", exc_return);
    out("\r\n");
    out_hex("    fault address=", addr);
    out(addr_note);
    out_hex(" CFSR=", cfsr);
    out_hex(" HFSR=", hfsr);
    out("\r\n");
    out_hex("    R0=", frame[0]);
    out_hex(" R1=", frame[1]);
    out_hex(" R2=", frame[2]);
    out_hex(" R3=", frame[3]);
    out_hex(" R12=", frame[4]);
    out("\r\n*** resetting the board\r\n");
    while (!port_uart_tx_done(&port_uart0)) {
    }
    cortexm_dsb_isb();
    SCB_AIRCR = AIRCR_VECTKEY | AIRCR_SYSRESETREQ;
    cortexm_dsb_isb();
    for (;;) {
    }
}

// Try the defio path: true when the fault was a first write to a tracked page.
static bool defio_page_fault(void) {
    uint32_t cfsr = SCB_CFSR;
    if ((cfsr & (CFSR_MMARVALID | CFSR_DACCVIOL)) != (CFSR_MMARVALID | CFSR_DACCVIOL)) {
        return false;
    }
    if (!defio_core_fault(SCB_MMFAR)) {
        return false;
    }
    SCB_CFSR = cfsr & CFSR_MMFSR_MASK; // write 1 to clear the MemManage status
    return true;
}

void port_fault_dispatch(const uint32_t *frame, uint32_t exc_return, int kind) {
    if (kind == FAULT_MEMMANAGE && defio_page_fault()) {
        return;
    }
    if (kind == FAULT_HARD && (SCB_HFSR & HFSR_FORCED) && defio_page_fault()) {
        SCB_HFSR = HFSR_FORCED;
        return;
    }
    crash_dump(kind, frame, exc_return);
}

// Entry stubs: pass the stacked frame (MSP or PSP, from EXC_RETURN bit 2) and EXC_RETURN.
#define FAULT_ENTRY(name, kind) \
    __attribute__((naked)) void name(void) { \
        __asm volatile ( \
            "tst lr, #4\n" \
            "ite eq\n" \
            "mrseq r0, msp\n" \
            "mrsne r0, psp\n" \
            "mov r1, lr\n" \
            "mov r2, %0\n" \
            "b port_fault_dispatch\n" \
            : : "i" (kind)); \
    }

FAULT_ENTRY(HardFault_Handler, FAULT_HARD)
FAULT_ENTRY(MemManage_Handler, FAULT_MEMMANAGE)
FAULT_ENTRY(BusFault_Handler, FAULT_BUS)
FAULT_ENTRY(UsageFault_Handler, FAULT_USAGE)
FAULT_ENTRY(NMI_Handler, FAULT_NMI)
FAULT_ENTRY(Default_Handler, FAULT_IRQ)
