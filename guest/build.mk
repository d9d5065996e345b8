# guest/build.mk: the guest libOS (a shared core, the virtio drivers and one
# binding per way of booting), its unit tests and the misbehaving test kernels.

# The core and the drivers, shared by every binding.
GUEST_CORE_SRCS := guest/core/entry.S guest/core/exceptions.S \
    guest/core/cpu.c guest/core/boot.c guest/core/platform.c \
    guest/core/mem.c guest/core/fd.c guest/core/sys.c guest/core/main.c \
    guest/core/vdso.c guest/core/memcalls.c guest/core/string.c \
    guest/core/upcall_entry.S \
    guest/virtio/virtq.c guest/virtio/mmio.c guest/virtio/console.c \
    guest/virtio/net.c guest/virtio/control.c
# lunik's own monitor (build/lunik-guest.elf, inside build/lunik).
GUEST_LUNIK_SRCS := guest/lunik/entry.S guest/lunik/cpu.c \
    guest/lunik/platform.c guest/lunik/upcall.c
# PVH VMMs: QEMU microvm, Firecracker (build/lunik-pvh.elf).
GUEST_PVH_SRCS := guest/pvh/entry.S guest/pvh/boot.c guest/pvh/platform.c \
    guest/xen/xen.c

GUEST_SRCS += $(GUEST_CORE_SRCS) $(GUEST_LUNIK_SRCS)
GUEST_CFLAGS += -Iguest

# One static ELF per binding, linked at LUNIK_KERNEL_BASE (hypercall.h).
# lunik's is entered at lunik_guest_entry (64-bit, CPL 3); the PVH kernel
# has the same ELF entry, unused, and is booted through its
# XEN_ELFNOTE_PHYS32_ENTRY note (guest/pvh/entry.S). Each binding's entry
# ends in the core's guest_core_start, which runs musl's own _start.
GUEST_LDFLAGS += -Wl,-Ttext-segment=0x100000 -Wl,-e,lunik_guest_entry \
    -Wl,-z,norelro -Wl,--build-id=none

# System-call names for the shim's "unsupported" log, from the kernel's
# own list: "#define __NR_read 0" becomes '[0] = "read",'.
GUEST_GEN := $(B)/guest/gen
UNISTD_64 := /usr/include/x86_64-linux-gnu/asm/unistd_64.h
$(UNISTD_64): | $(SETUP_STAMP)    # linux-libc-dev, installed by set-up
$(GUEST_GEN)/syscall_names.h: $(UNISTD_64) guest/build.mk
	@mkdir -p $(@D)
	awk '/^#define __NR_[a-z0-9_]+[ \t]+[0-9]+/ { n = $$2; \
	    sub(/^__NR_/, "", n); printf "    [%s] = \"%s\",\n", $$3, n }' \
	    $< > $@.tmp && mv $@.tmp $@

# Lua's print() does not flush stdout in the guest (guest/core/lua_guest.h).
$(GUEST_LUA_OBJS): GUEST_CFLAGS += -include guest/core/lua_guest.h
$(GUEST_LUA_OBJS): guest/core/lua_guest.h

# The guest's memcpy/memmove/memset must not become calls to themselves.
$(B)/guest/guest/core/string.o: GUEST_CFLAGS += -fno-tree-loop-distribute-patterns

# CPU set-up and fault handlers use no SSE registers (as a kernel would):
# they run first, and while reporting a fault the SSE state is unknown.
$(B)/guest/guest/core/cpu.o $(B)/guest/guest/pvh/boot.o \
    $(B)/guest/guest/xen/xen.o: GUEST_CFLAGS += -mgeneral-regs-only

$(B)/guest/guest/core/sys.o: $(GUEST_GEN)/syscall_names.h
$(B)/guest/guest/core/sys.o: GUEST_CFLAGS += -I$(GUEST_GEN)

# Unit tests: the shim's portable parts (memory, descriptors, dispatch)
# compiled natively, with the real VFS.
GUEST_TEST_CFLAGS := $(HOST_CFLAGS) -I$(GUEST_GEN) -Iguest/core \
    -fsanitize=address,undefined -no-pie

$(B)/tests/guest_mem_test: tests/unit/guest_mem_test.c guest/core/mem.c
	@mkdir -p $(@D)
	$(HOST_CC) $(GUEST_TEST_CFLAGS) -o $@ $^

$(B)/tests/guest_syscall_test: tests/unit/guest_syscall_test.c guest/core/sys.c \
    guest/core/fd.c guest/core/mem.c vfs/vfs.c $(GUEST_GEN)/syscall_names.h
	@mkdir -p $(@D)
	$(HOST_CC) $(GUEST_TEST_CFLAGS) -o $@ $(filter %.c,$^)

# guest/core/string.c with its functions renamed, so the test's own C library
# (and the sanitizers') keeps the host's memcpy.
$(B)/tests/guest_string_test: tests/unit/guest_string_test.c guest/core/string.c
	@mkdir -p $(@D)
	$(HOST_CC) $(GUEST_TEST_CFLAGS) -fno-tree-loop-distribute-patterns \
	    -Dmemcpy=gs_memcpy -D__memcpy_fwd=gs_memcpy_fwd \
	    -Dmemmove=gs_memmove -Dmemset=gs_memset -o $@ $^

TEST_PROGS += $(B)/tests/guest_mem_test $(B)/tests/guest_syscall_test \
    $(B)/tests/guest_string_test \
    tests/unit/guest_kernels_test.t

# Misbehaving kernels for the monitor's tests (tests/50-guest-faults.t).
FAULT_KERNELS := bad_hypercall triple_fault divide_error invalid_opcode \
    ring_outside ring_loop ring_index ring_avail ring_overflow ring_area
FAULT_KIND_bad_hypercall := 1
FAULT_KIND_triple_fault := 2
FAULT_KIND_divide_error := 3
FAULT_KIND_invalid_opcode := 4
FAULT_KIND_ring_outside := 6
FAULT_KIND_ring_loop := 7
FAULT_KIND_ring_index := 8
FAULT_KIND_ring_avail := 9
FAULT_KIND_ring_overflow := 10
FAULT_KIND_ring_area := 11
FAULT_CFLAGS := -O2 -std=gnu11 -Wall -Wextra -Iinclude -Iguest -ffreestanding \
    -mgeneral-regs-only \
    -fno-pie -fno-stack-protector -nostdlib -static -no-pie \
    -Wl,-Ttext-segment=0x100000 -Wl,-e,fault_entry -Wl,--build-id=none

# They write through a minimal virtio console (guest/faults/kconsole.c).
KCONSOLE_SRCS := guest/faults/kconsole.c guest/virtio/virtq.c \
    guest/virtio/mmio.c
# The core's CPU set-up with the lunik binding's hooks.
FAULT_CPU_SRCS := guest/core/cpu.c guest/core/exceptions.S guest/lunik/cpu.c
FAULT_CPU_DEPS := $(FAULT_CPU_SRCS) guest/core/cpu.h guest/core/binding.h \
    guest/lunik/hcall.h include/lunik/hypercall.h
KCONSOLE_DEPS := $(KCONSOLE_SRCS) guest/faults/kconsole.h \
    guest/virtio/virtq.h guest/virtio/mmio.h include/lunik/virtio.h

$(B)/tests/%.elf: guest/faults/fault_kernel.c $(FAULT_CPU_DEPS) \
    $(KCONSOLE_DEPS)
	@mkdir -p $(@D)
	$(HOST_CC) $(FAULT_CFLAGS) -DFAULT_KIND=$(FAULT_KIND_$*) -o $@ \
	    guest/faults/fault_kernel.c $(FAULT_CPU_SRCS) $(KCONSOLE_SRCS)

# A well-behaved one: both ways a `syscall` reaches the libOS.
$(B)/tests/syscall_paths.elf: guest/faults/syscall_kernel.c $(FAULT_CPU_DEPS) \
    $(KCONSOLE_DEPS)
	@mkdir -p $(@D)
	$(HOST_CC) $(FAULT_CFLAGS) -mno-red-zone \
	    -Wl,-e,syscall_kernel_entry -o $@ \
	    guest/faults/syscall_kernel.c $(FAULT_CPU_SRCS) $(KCONSOLE_SRCS)

GUEST_TEST_KERNELS := $(FAULT_KERNELS:%=$(B)/tests/%.elf) \
    $(B)/tests/syscall_paths.elf

guest-fault-kernels: $(GUEST_TEST_KERNELS)
.PHONY: guest-fault-kernels

# `make check` builds TEST_PROGS; the fault kernels ride along with them.
$(B)/tests/guest_syscall_test: | $(GUEST_TEST_KERNELS)

# The PVH kernel: the same core and drivers with the PVH binding, linked
# at the same address; its ELF entry (unused by PVH VMMs) is the 32-bit
# entry too.
GUEST_PVH_OBJS := $(call objs,$(B)/guest,$(GUEST_CORE_SRCS) \
    $(GUEST_PVH_SRCS) $(BOTH_SRCS))
$(B)/lunik-pvh.elf: $(GUEST_PVH_OBJS) $(GUEST_LUA_OBJS)
	$(GUEST_CC) -static -no-pie -Wl,-Ttext-segment=0x100000 \
	    -Wl,-e,pvh_start32 -Wl,-z,norelro -Wl,--build-id=none \
	    -o $@ $^ $(GUEST_LDLIBS)
