// defio on a Cortex-M: which MPU backend, and every limit, in one place.
//
// Compile time (the sizes of the core's tables) follows from the settings of defio_mcu.h:
//   regions   DEFIO_MCU_MPU_REGIONS_MAX - DEFIO_MCU_FIRST_REGION      (defio's MPU regions)
//   PMSAv6/v7 DEFIO_MAX_INSTANCES = regions (one region of 8 subregion-pages at least each)
//             DEFIO_MAX_PAGES     = min(8 x regions, pool / smallest page)
//   PMSAv8    DEFIO_MAX_INSTANCES = regions (one base/limit region at least each)
//             DEFIO_MAX_PAGES     = pool / smallest page (an instance starts as one region)
// Run time: the same with the region count read from MPU_TYPE (defio_mcu_max_instances,
// defio_mcu_max_pages; Python: defio.MAX_INSTANCES, defio.MAX_PAGES).
#ifndef DEFIO_MCU_LIMITS_H
#define DEFIO_MCU_LIMITS_H

#include <stddef.h>

#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
#define DEFIO_MCU_PMSAV8 (1)
#elif defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__)
#define DEFIO_MCU_PMSAV7 (1)
#elif defined(__ARM_ARCH_6M__)
#define DEFIO_MCU_PMSAV6 (1)
#else
#error "defio: no MPU backend for this architecture (ARMv6-M, ARMv7-M, ARMv8-M Mainline)"
#endif

#ifndef DEFIO_MCU_POOL_SIZE
#define DEFIO_MCU_POOL_SIZE (64 * 1024)
#endif
#ifndef DEFIO_MCU_FIRST_REGION
#define DEFIO_MCU_FIRST_REGION (0)
#endif

#if DEFIO_MCU_PMSAV8
#ifndef DEFIO_MCU_MPU_REGIONS_MAX
#define DEFIO_MCU_MPU_REGIONS_MAX (16)
#endif
#ifndef DEFIO_MCU_PAGE_SIZE_MIN
#define DEFIO_MCU_PAGE_SIZE_MIN (32)
#endif
#ifndef DEFIO_MCU_POOL_ALIGN
#define DEFIO_MCU_POOL_ALIGN (32)
#endif
#else
#ifndef DEFIO_MCU_MPU_REGIONS_MAX
#define DEFIO_MCU_MPU_REGIONS_MAX (8)
#endif
#ifndef DEFIO_MCU_PAGE_SIZE_MIN
#define DEFIO_MCU_PAGE_SIZE_MIN (256) // 8 subregions of the smallest region with subregions
#endif
#ifndef DEFIO_MCU_POOL_ALIGN
#define DEFIO_MCU_POOL_ALIGN (DEFIO_MCU_POOL_SIZE)
#endif
#endif

#ifndef DEFIO_MCU_PAGE_SIZE_DEFAULT
#define DEFIO_MCU_PAGE_SIZE_DEFAULT (DEFIO_MCU_PAGE_SIZE_MIN)
#endif

#define DEFIO_MCU_PAGES_PER_REGION (8) // PMSAv6/v7: one page per subregion
#define DEFIO_MCU_REGIONS (DEFIO_MCU_MPU_REGIONS_MAX - DEFIO_MCU_FIRST_REGION)
#define DEFIO_MCU_POOL_PAGES (DEFIO_MCU_POOL_SIZE / DEFIO_MCU_PAGE_SIZE_MIN)

#if DEFIO_MCU_REGIONS < 1
#error "defio: DEFIO_MCU_FIRST_REGION leaves no MPU region"
#endif
#if (DEFIO_MCU_POOL_SIZE & (DEFIO_MCU_POOL_SIZE - 1)) != 0
#error "defio: DEFIO_MCU_POOL_SIZE must be a power of two"
#endif

// The core's table sizes (defio_core.h takes these instead of its host defaults).
#define DEFIO_MAX_INSTANCES (DEFIO_MCU_REGIONS)
#if DEFIO_MCU_PMSAV8 || DEFIO_MCU_POOL_PAGES < DEFIO_MCU_REGIONS * DEFIO_MCU_PAGES_PER_REGION
#define DEFIO_MAX_PAGES (DEFIO_MCU_POOL_PAGES)
#else
#define DEFIO_MAX_PAGES (DEFIO_MCU_REGIONS * DEFIO_MCU_PAGES_PER_REGION)
#endif

// The core's fault path goes where the port wants the handler (RP2040: RAM).
#ifdef DEFIO_MCU_RAMFUNC
#define DEFIO_FAULT_PATH DEFIO_MCU_RAMFUNC
#endif

// Run time: MPU regions defio may use (MPU_TYPE, capped), instances and pages per instance.
size_t defio_mcu_regions(void);
size_t defio_mcu_max_instances(void);
size_t defio_mcu_max_pages(void);

#endif // DEFIO_MCU_LIMITS_H
