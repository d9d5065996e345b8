/* vdso.c: the vDSO the libOS hands musl (AT_SYSINFO_EHDR), so clock_gettime, time and gettimeofday need no trap. */
#include "vdso.h"

#include <elf.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <time.h>

#include "sys.h"

/*
 * On Linux the kernel maps a small shared object into every process and
 * names it in the auxiliary vector (AT_SYSINFO_EHDR); musl looks up
 * "__vdso_clock_gettime" in its dynamic symbol table (program headers,
 * PT_DYNAMIC, DT_STRTAB, DT_SYMTAB and DT_HASH, whose second word is the
 * number of symbols) on its first clock_gettime, and calls it from then
 * on instead of the system call; time(), gettimeofday() and clock() go
 * through clock_gettime. The function returns 0 or -errno (the kernel's
 * convention). This image holds just that table: one PT_LOAD at offset 0
 * (so the load base is the image itself) and a symbol whose value leads
 * from there to vdso_clock_gettime below, in the kernel's own text. Every
 * clock read is then a plain call into the shim (no trap on kvm_pvm,
 * where a `syscall` costs tens of microseconds).
 */
static const char strings[] = "\0__vdso_clock_gettime\0LINUX_2.6";

static struct {
    Elf64_Ehdr eh;
    Elf64_Phdr ph[2];
    Elf64_Dyn dyn[4];
    Elf64_Word hash[5];                 /* nbucket 1, nchain 2, bucket,
                                           chain[2] */
    Elf64_Sym sym[2];                   /* 0: the undefined symbol */
    char str[sizeof strings];
} image;

static int vdso_clock_gettime(clockid_t clk, struct timespec *ts)
{
    const long a[6] = { clk, (long)(uintptr_t)ts };

    return (int)guest_sys_call(SYS_clock_gettime, a);
}

const void *guest_vdso(void)
{
    const uintptr_t base = (uintptr_t)&image;

    if (image.eh.e_phnum != 0)
        return &image;
    image.eh = (Elf64_Ehdr){
        .e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64,
                     ELFDATA2LSB, EV_CURRENT },
        .e_type = ET_DYN, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
        .e_phoff = offsetof(__typeof__(image), ph),
        .e_ehsize = sizeof(Elf64_Ehdr),
        .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 2,
    };
    image.ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X,
                                .p_filesz = sizeof image,
                                .p_memsz = sizeof image, .p_align = 4096 };
    image.ph[1] = (Elf64_Phdr){
        .p_type = PT_DYNAMIC, .p_flags = PF_R,
        .p_offset = offsetof(__typeof__(image), dyn),
        .p_vaddr = offsetof(__typeof__(image), dyn),
        .p_filesz = sizeof image.dyn, .p_memsz = sizeof image.dyn };
    image.dyn[0] = (Elf64_Dyn){ DT_STRTAB,
                                { offsetof(__typeof__(image), str) } };
    image.dyn[1] = (Elf64_Dyn){ DT_SYMTAB,
                                { offsetof(__typeof__(image), sym) } };
    image.dyn[2] = (Elf64_Dyn){ DT_HASH,
                                { offsetof(__typeof__(image), hash) } };
    image.dyn[3] = (Elf64_Dyn){ DT_NULL, { 0 } };
    image.hash[0] = 1;                  /* one bucket ... */
    image.hash[1] = 2;                  /* ... two symbols */
    image.hash[2] = 1;                  /* bucket 0 -> symbol 1 */
    image.sym[1] = (Elf64_Sym){
        .st_name = 1, .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC),
        .st_shndx = 1,                  /* defined (not SHN_UNDEF) */
        .st_value = (uintptr_t)vdso_clock_gettime - base };
    for (size_t i = 0; i < sizeof strings; i++)
        image.str[i] = strings[i];
    return &image;
}
