/* platform.c: the PVH binding's platform: TSC clock, CMOS wall time, the local APIC timer and I/O APIC for idle waits, virtio-mmio devices from the command line, exit through isa-debug-exit. */
#include "lunik/platform.h"

#include "core/binding.h"
#include "core/cpu.h"
#include "lunik/hypercall.h"
#include "lunik/run.h"
#include "lunik/virtio.h"
#include "pvh.h"
#include "../xen/xen.h"
#include "virtio/binding.h"
#include "virtio/console.h"

/* Local APIC registers (SDM vol. 3, 11.4.1), offsets from PVH_LAPIC_BASE. */
#define LAPIC_ID        0x020
#define LAPIC_SVR       0x0f0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0
#define LAPIC_MASKED    0x10000u
/*
 * The LAPIC timer counts at 1 GHz with divide-by-1 under KVM's and QEMU's
 * emulated APIC (their APIC bus cycle is 1 ns), and so do Firecracker's
 * (KVM's). The binding relies on that for wait deadlines and to calibrate
 * the TSC when CPUID does not name its frequency. Xen's emulated APIC
 * counts at 100 MHz; under Xen the TSC's rate comes from Xen's
 * vcpu_time_info, and the LAPIC timer is measured against it.
 */
#define LAPIC_NS_PER_TICK 1
static uint32_t lapic_ns_per_tick = LAPIC_NS_PER_TICK;
#define CALIBRATE_NS 2000000u           /* 2 ms against the LAPIC timer */

_Static_assert(PVH_UPCALL_FRAME == LUNIK_UPCALL_FRAME,
               "entry.S's timer stub writes the core's upcall frame");

static struct pvh_device devices[PVH_MAX_DEVICES];
static int ndevices;
static char target[32] = "pvh";
static int serial_console;              /* lunik.console=serial */
static uint64_t tsc_mult;               /* ns per TSC tick, 32.32 fixed point */
static uint64_t tsc_boot, wall_boot_ns, last_mono;
uint64_t pvh_budget_tsc;                /* read by entry.S's timer stub */
static uint64_t budget_ns;              /* the same deadline in ns; 0 none */
static void (*upcall_fn)(void);
/* Under Xen the wake-ups are Xen's single-shot timer (event channel
 * upcall on PVH_VEC_TIMER), not the LAPIC timer. */
static int xen_timer;

static uint32_t lapic_read(uint32_t reg)
{
    return pvh_mmio_read(PVH_LAPIC_BASE + reg);
}

static void lapic_write(uint32_t reg, uint32_t v)
{
    pvh_mmio_write(PVH_LAPIC_BASE + reg, v);
}

/* I/O APIC redirection entry for GSI irq (82093AA datasheet 3.2.4): the
 * interrupt vector, fixed delivery, physical destination (this vCPU's
 * APIC ID), active high, edge triggered, unmasked. */
static void ioapic_route(uint32_t irq, uint32_t apic_id)
{
    uintptr_t base = irq < 24 ? PVH_IOAPIC_BASE : PVH_IOAPIC2_BASE;
    uint32_t pin = irq % 24;

    pvh_mmio_write(base, 0x11 + 2 * pin);
    pvh_mmio_write(base + 0x10, apic_id << 24);
    pvh_mmio_write(base, 0x10 + 2 * pin);
    pvh_mmio_write(base + 0x10, PVH_VEC_IRQ);
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                     : "a"(leaf), "c"(0));
}

/* ns per TSC tick (32.32): CPUID 0x15 (crystal clock and TSC ratio), the
 * hypervisor timing leaf 0x40000010 (TSC kHz), else 2 ms against the
 * LAPIC timer. */
static uint64_t tsc_calibrate(void)
{
    uint32_t r[4];
    uint64_t xen = xen_tsc_mult();      /* Xen: vcpu_time_info's scale */

    if (xen != 0) {                     /* then the LAPIC timer's rate */
        lapic_write(LAPIC_LVT_TIMER, LAPIC_MASKED | PVH_VEC_IRQ);
        lapic_write(LAPIC_TIMER_DIV, 0xb);      /* divide by 1 */
        lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
        uint32_t c0 = lapic_read(LAPIC_TIMER_CUR);
        uint64_t t0 = guest_rdtsc(), ns;
        do
            ns = (uint64_t)((unsigned __int128)(guest_rdtsc() - t0) * xen >>
                            32);
        while (ns < CALIBRATE_NS);
        uint32_t ticks = c0 - lapic_read(LAPIC_TIMER_CUR);
        lapic_write(LAPIC_TIMER_INIT, 0);
        if (ticks != 0)
            lapic_ns_per_tick = (uint32_t)((ns + ticks / 2) / ticks);
        if (lapic_ns_per_tick == 0)
            lapic_ns_per_tick = 1;
        return xen;
    }
    cpuid(0, r);
    if (r[0] >= 0x15) {
        cpuid(0x15, r);
        if (r[0] != 0 && r[1] != 0 && r[2] != 0) {
            uint64_t hz = (uint64_t)r[2] * r[1] / r[0];
            return (1000000000ull << 32) / hz;
        }
    }
    cpuid(0x40000000, r);
    if (r[0] >= 0x40000010) {
        cpuid(0x40000010, r);
        if (r[0] != 0)
            return (1000000ull << 32) / r[0];
    }
    lapic_write(LAPIC_LVT_TIMER, LAPIC_MASKED | PVH_VEC_IRQ);
    lapic_write(LAPIC_TIMER_DIV, 0xb);          /* divide by 1 */
    lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
    uint32_t c0 = lapic_read(LAPIC_TIMER_CUR), c1;
    uint64_t t0 = guest_rdtsc(), t1;
    do {
        c1 = lapic_read(LAPIC_TIMER_CUR);
        t1 = guest_rdtsc();
    } while (c0 - c1 < CALIBRATE_NS / LAPIC_NS_PER_TICK);
    lapic_write(LAPIC_TIMER_INIT, 0);
    if (t1 == t0)
        guest_cpu_panic("the TSC does not advance");
    return ((uint64_t)(c0 - c1) * LAPIC_NS_PER_TICK << 32) / (t1 - t0);
}

/* The CMOS RTC (MC146818): the raw byte of one register. */
static unsigned cmos(uint8_t reg)
{
    pvh_outb(PVH_PORT_CMOS_INDEX, reg);
    return pvh_inb(PVH_PORT_CMOS_DATA);
}

static unsigned from_bcd(unsigned v, int bcd)
{
    return bcd ? (v & 15) + (v >> 4) * 10 : v;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Wall-clock seconds since the epoch from the RTC (UTC, as QEMU keeps it
 * by default): seconds, minutes, hours, day, month, year (registers 0, 2,
 * 4, 7, 8, 9), read until two reads agree outside an update; register B
 * says BCD or binary and 12 or 24 hours. 0 without an RTC. */
static uint64_t rtc_seconds(void)
{
    static const uint8_t regs[6] = { 0x00, 0x02, 0x04, 0x07, 0x08, 0x09 };
    unsigned a[6], b[6], regb = cmos(0x0b);
    int bcd = !(regb & 4), h12 = !(regb & 2), same = 0;

    if (regb == 0xff)
        return 0;                       /* nothing behind the ports */
    for (int tries = 0; tries < 5 && !same; tries++) {
        for (int n = 0; n < 100000 && (cmos(0x0a) & 0x80); n++)
            ;                           /* an update is in progress */
        for (int i = 0; i < 6; i++)
            a[i] = cmos(regs[i]);
        for (int i = 0; i < 6; i++)
            b[i] = cmos(regs[i]);
        same = 1;
        for (int i = 0; i < 6; i++)
            same &= a[i] == b[i];
    }
    unsigned sec = from_bcd(a[0], bcd), min = from_bcd(a[1], bcd);
    unsigned hour = from_bcd(a[2] & 0x7f, bcd);
    if (h12)
        hour = hour % 12 + (a[2] & 0x80 ? 12 : 0);
    int64_t days = days_from_civil(2000 + (int64_t)from_bcd(a[5], bcd),
                                   from_bcd(a[4], bcd), from_bcd(a[3], bcd));
    return (uint64_t)(days * 86400 + hour * 3600 + min * 60 + sec);
}

static void copy_target(const char *vmm)
{
    size_t n = 3;                       /* "pvh" */

    if (*vmm == '\0')
        return;
    target[n++] = '/';
    while (*vmm && n < sizeof target - 1)
        target[n++] = *vmm++;
    target[n] = '\0';
}

void pvh_platform_init(const struct pvh_device *devs, int ndevs,
                       const char *vmm, int serial)
{
    copy_target(vmm);
    serial_console = serial;
    for (int i = 0; i < ndevs; i++) {
        uintptr_t b = devs[i].base;
        if (pvh_mmio_read(b + VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC)
            continue;
        if (pvh_mmio_read(b + VIRTIO_MMIO_VERSION) != 2) {
            pvh_console_message("a virtio-mmio device is legacy (version 1)"
                                "; QEMU needs -global "
                                "virtio-mmio.force-legacy=false");
            pvh_halt(LUNIK_EXIT_GUEST);
        }
        devices[ndevices] = devs[i];
        devices[ndevices].device_id =
            pvh_mmio_read(b + VIRTIO_MMIO_DEVICE_ID);
        ndevices++;
    }
    if (!serial && gv_binding_device(LUNIK_VIRTIO_SLOT_CONSOLE,
                                     VIRTIO_ID_CONSOLE) == 0) {
        pvh_console_message("the VMM passed no virtio console (a "
                            "virtio_mmio.device= on the command line), "
                            "and the command line does not say "
                            "lunik.console=serial");
        pvh_halt(LUNIK_EXIT_GUEST);
    }
}

/* The clocks and the interrupt controllers: the 8259 PICs masked, the
 * LAPIC on with LINT0/1 masked, each device's GSI routed to PVH_VEC_IRQ;
 * then interrupts on (at CPL 3 too: the handler deadline needs them). */
void guest_bind_init(void)
{
    uint32_t apic_id;

    pvh_outb(0x21, 0xff);
    pvh_outb(0xa1, 0xff);
    lapic_write(LAPIC_SVR, 0x100 | PVH_VEC_SPURIOUS);
    lapic_write(LAPIC_LVT_LINT0, LAPIC_MASKED);
    lapic_write(LAPIC_LVT_LINT1, LAPIC_MASKED);
    lapic_write(LAPIC_LVT_ERROR, LAPIC_MASKED | PVH_VEC_IRQ);
    apic_id = lapic_read(LAPIC_ID) >> 24;
    for (int i = 0; i < ndevices; i++)
        ioapic_route(devices[i].irq, apic_id);
    tsc_mult = tsc_calibrate();
    lapic_write(LAPIC_TIMER_DIV, 0xb);
    lapic_write(LAPIC_LVT_TIMER, PVH_VEC_TIMER);        /* one-shot */
    xen_timer = xen_timer_init(PVH_VEC_TIMER) == 0;
    tsc_boot = guest_rdtsc();
    wall_boot_ns = rtc_seconds() * 1000000000ull;
    __asm__ volatile("sti" ::: "memory");       /* PICs masked: safe now */
}

/* Nanoseconds since boot, from the TSC; never going back. */
uint64_t plat_clock_monotonic(void)
{
    uint64_t ticks = guest_rdtsc() - tsc_boot;
    uint64_t now = (uint64_t)((unsigned __int128)ticks * tsc_mult >> 32);

    if (now < last_mono)
        now = last_mono;
    last_mono = now;
    return now;
}

/* The RTC's second at boot plus the monotonic clock since. */
uint64_t plat_clock_wall(void)
{
    return wall_boot_ns + plat_clock_monotonic();
}

/* "pvh/VMM" with the VMM the command line names (lunik.vmm=), else
 * "pvh". */
const char *plat_target(void)
{
    return target;
}

/* The LAPIC timer's count for an expiry at deadline_ns. */
static uint32_t timer_count(uint64_t deadline_ns)
{
    uint64_t now = plat_clock_monotonic();

    if (deadline_ns <= now)
        return 1;
    if ((deadline_ns - now) / lapic_ns_per_tick >= 0xffffffffu)
        return 0xffffffffu;
    return (uint32_t)((deadline_ns - now) / lapic_ns_per_tick) + 1;
}

/* Arm the wake-up timer for deadline_ns (0 or UINT64_MAX: none). */
static void timer_arm(uint64_t deadline_ns)
{
    if (xen_timer) {
        uint64_t now = plat_clock_monotonic();
        xen_timer_arm(deadline_ns == 0 || deadline_ns == UINT64_MAX ?
                      UINT64_MAX : deadline_ns > now ? deadline_ns - now : 0);
        return;
    }
    lapic_write(LAPIC_TIMER_INIT, deadline_ns == 0 ||
                deadline_ns == UINT64_MAX ? 0 : timer_count(deadline_ns));
}

/* The TSC value at monotonic time ns. */
static uint64_t tsc_at(uint64_t ns)
{
    return tsc_boot + (uint64_t)(((unsigned __int128)ns << 32) / tsc_mult);
}

/*
 * The handler deadline: the LAPIC timer fires at deadline_ns and its stub
 * (entry.S) enters the upcall, which calls fn at CPL 3 on the
 * interrupted stack, as lunik's monitor does. Arming costs one LAPIC
 * register write; disarming only a store (a timer that fires later finds
 * no deadline and returns).
 */
void plat_deadline(uint64_t deadline_ns, void (*fn)(void))
{
    upcall_fn = fn;
    budget_ns = deadline_ns;
    if (deadline_ns == 0) {
        __atomic_store_n(&pvh_budget_tsc, 0, __ATOMIC_SEQ_CST);
        return;
    }
    __atomic_store_n(&pvh_budget_tsc, tsc_at(deadline_ns) | 1,
                     __ATOMIC_SEQ_CST);
    timer_arm(deadline_ns);
}

void guest_upcall(void)
{
    void (*fn)(void) = upcall_fn;

    if (fn != NULL)
        fn();
}

int guest_bind_serial_write(const void *p, size_t n)
{
    if (!serial_console)
        return -1;
    pvh_serial_write(p, n);
    return 0;
}

/* SIGTERM to `lunik run --vmm qemu` arrives as "T" on the control
 * console. */
int guest_bind_shutdown(void)
{
    return gv_console_shutdown();
}

_Noreturn void guest_bind_exit(int status)
{
    gv_console_drain();                 /* QEMU quits at once on exit */
    pvh_halt(status);
}

/* ---- what the virtio drivers need (virtio/binding.h) ---- */

/* Slot n of a kind is the n-th device of that ID in command-line order:
 * console 0 (stdin, stdout), console 1 (stderr), console 2 (control), the
 * NIC. */
uintptr_t gv_binding_device(unsigned slot, uint32_t device_id)
{
    unsigned want = slot == LUNIK_VIRTIO_SLOT_STDERR ? 1
                  : slot == GV_CONSOLE_SLOT_EVENTS ? 2 : 0;

    if (slot == LUNIK_VIRTIO_SLOT_CONTROL)      /* no control channel */
        return 0;

    for (int i = 0; i < ndevices; i++) {
        if (devices[i].device_id != device_id)
            continue;
        if (want-- == 0)
            return devices[i].base;
    }
    return 0;
}

/*
 * Idle until a device interrupt or deadline_ns. A device's interrupt line
 * stays up until its InterruptStatus is acknowledged, and an edge-
 * triggered pin only sees a new rising edge: so first acknowledge, and if
 * anything was pending, return for the caller to look at its rings again;
 * else arm the LAPIC timer and sleep in the idle gate. Interrupts are off
 * from the first look to the gate's `sti; hlt`, so one that comes
 * meanwhile is pending there and ends the sleep at once.
 */
void gv_binding_wait(uint64_t deadline_ns)
{
    int pending = 0;

    if (!serial_console && gv_console_events_want())
        return;                         /* a shutdown may have come */
    __asm__ volatile("cli" ::: "memory");
    for (int i = 0; i < ndevices; i++) {
        uintptr_t b = devices[i].base;
        uint32_t isr = pvh_mmio_read(b + VIRTIO_MMIO_INTERRUPT_STATUS);
        if (isr != 0) {
            pvh_mmio_write(b + VIRTIO_MMIO_INTERRUPT_ACK, isr);
            pending = 1;
        }
    }
    if (!pending && deadline_ns > plat_clock_monotonic()) {
        uint64_t wake = deadline_ns;
        if (budget_ns != 0 && budget_ns < wake)
            wake = budget_ns;       /* a handler waiting for the console */
        timer_arm(wake);
        __asm__ volatile("int %0" : : "i"(PVH_VEC_IDLE) : "memory");
    }
    /* The timer's stub enters the upcall only at CPL 3: re-arm for the
     * handler deadline (at once if it passed in the gate). */
    timer_arm(budget_ns);
    __asm__ volatile("sti" ::: "memory");
}

/* platform.h plat_interrupt: a PVH VMM gives no control channel (lunik
 * attach needs lunik's monitor or the hosted target), so no client asks
 * to interrupt. */
void plat_interrupt(void (*fn)(void))
{
    (void)fn;
}
