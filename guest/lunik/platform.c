/* platform.c: the lunik binding: boot info, clocks from the TSC and the host, the wait and exit hypercalls, device slots. */
#include "lunik/platform.h"

#include "core/binding.h"
#include "core/cpu.h"
#include "core/sys.h"
#include "hcall.h"
#include "virtio/binding.h"
#include "virtio/console.h"

/*
 * The monotonic clock is the host's CLOCK_MONOTONIC, extrapolated with the
 * TSC from the last host reading (at boot and after every yield):
 *   now = base_mono + (rdtsc - base_tsc) * tsc_mult / 2^32
 * and never less than the last value returned. Without a TSC frequency
 * (KVM_GET_TSC_KHZ failed) every read is a LUNIK_HC_CLOCK hypercall.
 */
static uint64_t tsc_mult;               /* ns per TSC tick, 32.32 fixed point */
static uint64_t base_tsc, base_mono, base_wall;
static uint64_t last_mono;
static int shutdown_asked;              /* the wait hypercall said so */
static struct guest_boot boot;

static const struct lunik_boot_info *boot_info(void)
{
    return (const struct lunik_boot_info *)(uintptr_t)LUNIK_BOOT_INFO_GPA;
}

/* The boot description, from the monitor's boot info (hypercall.h),
 * checked once. */
const struct guest_boot *guest_bind_boot(void)
{
    const struct lunik_boot_info *b = boot_info();

    if (boot.idt != NULL)
        return &boot;
    boot.idt = (void *)(uintptr_t)LUNIK_IDT_GPA;
    boot.tss = (void *)(uintptr_t)LUNIK_TSS_GPA;
    if (b->magic != LUNIK_BOOT_MAGIC)
        guest_cpu_panic("boot info has a bad magic number");
    if (b->heap_start >= b->heap_end || b->heap_end > b->mem_size ||
        b->bundle_gpa + b->bundle_size > b->mem_size)
        guest_cpu_panic("boot info describes an impossible memory layout");
    boot.heap_start = b->heap_start;
    boot.heap_end = b->heap_end;
    boot.bundle = (const void *)(uintptr_t)b->bundle_gpa;
    boot.bundle_size = b->bundle_size;
    boot.argc = b->argc;
    boot.argv = (char *const *)(uintptr_t)b->argv_gpa;
    boot.console_tty = b->console_tty;
    boot.tty_rows = b->tty_rows;
    boot.tty_cols = b->tty_cols;
    boot.ipv4_addr = b->net_ipv4_addr;
    boot.ipv4_netmask = b->net_ipv4_netmask;
    boot.ipv4_gateway = b->net_ipv4_gateway;
    return &boot;
}

static void clock_sync(uint64_t mono, uint64_t wall)
{
    base_tsc = guest_rdtsc();
    base_mono = mono;
    base_wall = wall;
}

/* Read the host clocks, calibrate the TSC clock, and hand the monitor
 * the guest's counters when `--stats` asked for them. */
void guest_bind_init(void)
{
    const struct lunik_boot_info *b = boot_info();
    struct lunik_hc_clock c;

    if (b->tsc_khz > 0)
        tsc_mult = (1000000ull << 32) / b->tsc_khz;
    guest_hypercall(LUNIK_HC_CLOCK, &c);
    clock_sync(c.monotonic_ns, c.wall_ns);
    last_mono = c.monotonic_ns;
    if (b->flags & LUNIK_BOOT_STATS) {
        struct lunik_hc_stats st = {
            .counters_gpa = (uint64_t)(uintptr_t)guest_sys_counters() };
        guest_hypercall(LUNIK_HC_STATS, &st);
    }
}

uint64_t plat_clock_monotonic(void)
{
    uint64_t now;

    if (tsc_mult == 0) {
        struct lunik_hc_clock c;
        guest_hypercall(LUNIK_HC_CLOCK, &c);
        clock_sync(c.monotonic_ns, c.wall_ns);
        now = c.monotonic_ns;
    } else {
        uint64_t ticks = guest_rdtsc() - base_tsc;
        now = base_mono +
              (uint64_t)((unsigned __int128)ticks * tsc_mult >> 32);
    }
    if (now < last_mono)
        now = last_mono;
    last_mono = now;
    return now;
}

uint64_t plat_clock_wall(void)
{
    uint64_t mono = plat_clock_monotonic();

    return base_wall + (mono - base_mono);
}

const char *plat_target(void)
{
    return "kvm";
}

/* lunik's monitor has no serial port: the consoles are virtio. */
int guest_bind_serial_write(const void *p, size_t n)
{
    (void)p;
    (void)n;
    return -1;
}

int guest_bind_shutdown(void)
{
    int s = shutdown_asked;

    shutdown_asked = 0;
    return s;
}

_Noreturn void guest_bind_exit(int status)
{
    struct lunik_hc_exit e = { .status = (uint64_t)status & 0xff };

    for (;;)                            /* the monitor drains the queues */
        guest_hypercall(LUNIK_HC_EXIT, &e);
}

/* ---- what the virtio drivers need (virtio/binding.h) ---- */

uintptr_t gv_binding_device(unsigned slot, uint32_t device_id)
{
    const struct lunik_boot_info *b = boot_info();

    if (slot >= LUNIK_VIRTIO_SLOTS || b->virtio_ids[slot] != device_id)
        return 0;
    return (uintptr_t)LUNIK_VIRTIO_MMIO_ADDR(slot);
}

/* The wait hypercall: blocks in the monitor until a device notifies or
 * the deadline passes; brings back the host clocks. */
void gv_binding_wait(uint64_t deadline_ns)
{
    struct lunik_hc_wait w = { .deadline_ns = deadline_ns };

    guest_hypercall(LUNIK_HC_WAIT, &w);
    clock_sync(w.monotonic_ns, w.wall_ns);
    if (w.shutdown)
        shutdown_asked = 1;
}
