// PMSAv6 (ARMv6-M: Cortex-M0+, the RP2040) fault source: no MemManage and no MMFAR, so an
// MPU violation is a HardFault that says nothing about the address. The handler decodes the
// 16-bit Thumb store at the stacked PC (ARMv6-M has no 32-bit stores) and computes the bytes
// it writes from the stacked r0-r3 and the r4-r7 the entry stub saved:
//   STR/STRH/STRB Rt, [Rn, #imm]     STR/STRH/STRB Rt, [Rn, Rm]
//   STR Rt, [SP, #imm]               STM Rn!, {list}   (up to 32 bytes: two pages at most)
// PUSH is never a case: stacks are never in the pool (a fault while stacking locks up an
// ARMv6-M core). Each end of the range that falls in a page one of defio's regions protects
// now goes to defio_core_fault. If none does, the fault is not ours (another instruction, an
// unaligned access, memory that is not defio's, a page already open): the port's handler
// gets it. So a fault is handled at most once per protected page: no fault loop.
//
// DEFIO_MCU_CHECK_DECODER (the MPS2_AN385_V6M board: ARMv6-M code on QEMU's Cortex-M3,
// which does report MMFAR on the escalated fault): every decoded range is checked against
// MMFAR; a mismatch is not handled, so the crash dump shows it. defio_mcu_decoder_checks
// counts the checks that passed (a test reads it).
#include "defio_mpu.h"

#if DEFIO_MCU_PMSAV6

static inline uint32_t reg(unsigned n, const uint32_t *frame, const uint32_t *r4_r7) {
    return n < 4 ? frame[n] : r4_r7[n - 4];
}

DEFIO_MCU_RAMFUNC bool defio_thumb_store_range(uint16_t insn, const uint32_t *frame,
    const uint32_t *r4_r7, uintptr_t *lo, uintptr_t *hi) {
    uint32_t rn = reg((insn >> 3) & 7, frame, r4_r7);
    uint32_t imm5 = (insn >> 6) & 31;
    uint32_t len;
    switch (insn >> 11) {
        case 0x0c: // 01100: STR Rt, [Rn, #imm5 * 4]
            *lo = rn + imm5 * 4;
            len = 4;
            break;
        case 0x0e: // 01110: STRB Rt, [Rn, #imm5]
            *lo = rn + imm5;
            len = 1;
            break;
        case 0x10: // 10000: STRH Rt, [Rn, #imm5 * 2]
            *lo = rn + imm5 * 2;
            len = 2;
            break;
        case 0x0a: { // 0101 opB Rm Rn Rt: register offset (loads share the prefix)
            uint32_t rm = reg((insn >> 6) & 7, frame, r4_r7);
            switch ((insn >> 9) & 7) {
                case 0: // STR
                    len = 4;
                    break;
                case 1: // STRH
                    len = 2;
                    break;
                case 2: // STRB
                    len = 1;
                    break;
                default:
                    return false;
            }
            *lo = rn + rm;
            break;
        }
        case 0x12: { // 10010: STR Rt, [SP, #imm8 * 4]
            // SP before the exception: above the 8-word frame, plus the alignment word the
            // core inserted when xPSR bit 9 says so.
            uintptr_t sp = (uintptr_t)(frame + 8) + ((frame[FRAME_XPSR] >> 9) & 1) * 4;
            *lo = sp + (insn & 0xff) * 4;
            len = 4;
            break;
        }
        case 0x18: { // 11000: STM Rn!, {list}
            uint32_t list = insn & 0xff;
            if (list == 0) {
                return false; // UNPREDICTABLE
            }
            *lo = reg((insn >> 8) & 7, frame, r4_r7);
            len = 4 * __builtin_popcount(list);
            break;
        }
        default:
            return false;
    }
    *hi = *lo + len;
    return true;
}

#if DEFIO_MCU_CHECK_DECODER
volatile uint32_t defio_mcu_decoder_checks;
volatile uint32_t defio_mcu_decoder_mismatches;
#endif

DEFIO_MCU_RAMFUNC bool defio_mpu_fault(uint32_t *frame, const uint32_t *r4_r7) {
    uint16_t insn = *(const uint16_t *)frame[FRAME_PC];
    uintptr_t lo, hi;
    if (!defio_thumb_store_range(insn, frame, r4_r7, &lo, &hi)) {
        return false;
    }
    #if DEFIO_MCU_CHECK_DECODER
    uint32_t cfsr = DEFIO_SCB->CFSR;
    uint32_t mmfar = DEFIO_SCB->MMFAR;
    if (!(cfsr & DEFIO_CFSR_MMARVALID) || mmfar < lo || mmfar >= hi) {
        defio_mcu_decoder_mismatches += 1;
        return false;
    }
    #endif
    bool handled = false;
    if (defio_pmsav7_protected(lo)) {
        handled = defio_core_fault(lo);
    }
    // Pages are at least DEFIO_MCU_PAGE_SIZE_MIN and aligned to their size: the last byte
    // is in another page only if it is in another such block (an STM across a boundary).
    if (((lo ^ (hi - 1)) >= DEFIO_MCU_PAGE_SIZE_MIN)
        && defio_pmsav7_protected(hi - 1) && defio_core_fault(hi - 1)) {
        handled = true;
    }
    #if DEFIO_MCU_CHECK_DECODER
    if (handled) {
        defio_mcu_decoder_checks += 1;
        DEFIO_SCB->CFSR = cfsr & DEFIO_CFSR_MMFSR_Msk;
        DEFIO_SCB->HFSR = DEFIO_HFSR_FORCED;
    }
    #endif
    return handled;
}

#endif // DEFIO_MCU_PMSAV6
