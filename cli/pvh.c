/* pvh.c: a bootable PVH ELF: the PVH guest kernel with the app bundle as one more loadable segment. */
#include <arpa/inet.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "host/net.h"
#include "pvh.h"

#define PAGE 4096u

static uint64_t page_up(uint64_t a)
{
    return (a + PAGE - 1) / PAGE * PAGE;
}

/*
 * The kernel's program headers move to just after its last byte in the
 * first page (which its first PT_LOAD, at file offset 0, grows to cover),
 * with one more entry: the bundle, read-only, at the first page above
 * the kernel's highest segment. The kernel finds it there (guest/pvh/
 * boot.c) and reads its own headers through __ehdr_start + e_phoff as
 * before. Nothing else in the kernel moves.
 */
int cli_pvh_elf(const unsigned char *k, size_t ksize, const void *bundle,
                size_t blen, struct cli_buf *out)
{
    Elf64_Ehdr eh;
    Elf64_Phdr ph[64];
    uint64_t end = 0, first_end = 0, next_off = UINT64_MAX;
    int first = -1;

    if (ksize < sizeof eh)
        return cli_fail(LUNIK_EXIT_DATAERR, "the PVH kernel is truncated");
    memcpy(&eh, k, sizeof eh);
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phnum == 0 ||
        eh.e_phnum >= 64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
        eh.e_phoff > ksize || (ksize - eh.e_phoff) / sizeof(Elf64_Phdr) <
                              eh.e_phnum)
        return cli_fail(LUNIK_EXIT_DATAERR, "the PVH kernel is not a 64-bit "
                        "ELF with program headers");
    memcpy(ph, k + eh.e_phoff, sizeof(Elf64_Phdr) * eh.e_phnum);
    for (int i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD)
            continue;
        if (ph[i].p_vaddr + ph[i].p_memsz > end)
            end = ph[i].p_vaddr + ph[i].p_memsz;
        if (ph[i].p_offset == 0)
            first = i;
        else if (ph[i].p_offset < next_off)
            next_off = ph[i].p_offset;
    }
    if (first < 0)
        return cli_fail(LUNIK_EXIT_DATAERR, "the PVH kernel's first segment "
                        "does not map its ELF header");
    first_end = (ph[first].p_filesz + 7) / 8 * 8;
    uint64_t table_end = first_end + sizeof(Elf64_Phdr) * (eh.e_phnum + 1u);
    if (ph[first].p_filesz != ph[first].p_memsz ||
        table_end > PAGE || table_end > next_off)
        return cli_fail(LUNIK_EXIT_DATAERR, "the PVH kernel has no room for "
                        "one more program header in its first page");

    uint64_t boff = page_up(ksize);
    Elf64_Phdr b = {
        .p_type = PT_LOAD, .p_flags = PF_R, .p_offset = boff,
        .p_vaddr = page_up(end), .p_paddr = page_up(end),
        .p_filesz = blen, .p_memsz = blen, .p_align = PAGE,
    };
    ph[eh.e_phnum] = b;
    ph[first].p_filesz = ph[first].p_memsz = table_end;
    eh.e_phoff = first_end;
    eh.e_phnum++;
    eh.e_shoff = 0;                     /* section headers are not kept */
    eh.e_shnum = 0;
    eh.e_shstrndx = 0;

    out->len = 0;
    cli_buf_append(out, k, ksize);
    memcpy(out->data, &eh, sizeof eh);
    memcpy(out->data + first_end, ph, sizeof(Elf64_Phdr) * eh.e_phnum);
    cli_buf_align(out, PAGE);
    cli_buf_append(out, bundle, blen);
    return 0;
}

uint64_t cli_pvh_load_end(const unsigned char *elf, size_t n)
{
    Elf64_Ehdr eh;
    Elf64_Phdr ph;
    uint64_t end = 0;

    if (n < sizeof eh)
        return 0;
    memcpy(&eh, elf, sizeof eh);
    if (eh.e_phoff > n || (n - eh.e_phoff) / sizeof ph < eh.e_phnum)
        return 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        memcpy(&ph, elf + eh.e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type == PT_LOAD && ph.p_paddr + ph.p_memsz > end)
            end = ph.p_paddr + ph.p_memsz;
    }
    return end;
}

/* An argument for the kernel command line (guest/pvh/boot.c): bytes
 * that would end or confuse a word as %XX; "" as a lone "%". */
static void encode_arg(struct cli_buf *b, const char *s)
{
    if (*s == '\0') {
        cli_buf_append(b, " %", 2);
        return;
    }
    cli_buf_append(b, " ", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= 0x20 || *p >= 0x7f || *p == '%' || *p == '=' ||
            *p == '"' || *p == '\\') {
            char x[4];
            snprintf(x, sizeof x, "%%%02X", *p);
            cli_buf_append(b, x, 3);
        } else {
            cli_buf_append(b, p, 1);
        }
    }
}

int cli_pvh_prefix(uint32_t mask_be)
{
    return __builtin_popcount(ntohl(mask_be));
}

char *cli_pvh_ip4(uint32_t a)
{
    struct in_addr in = { .s_addr = a };
    return cli_xstrdup(inet_ntoa(in));
}


char *cli_pvh_cmdline(const struct cli_options *opt, const char *vmm,
                      int argc, char **argv)
{
    struct cli_buf b = {0};
    const struct lunik_net_config *n = &opt->net;

    cli_buf_append(&b, "lunik.vmm=", 10);
    cli_buf_append(&b, vmm, strlen(vmm));
    if (strcmp(vmm, "firecracker") == 0)     /* no virtio console there */
        cli_buf_append(&b, " lunik.console=serial", 21);
    if (n->kind != LUNIK_NET_NONE && n->ipv4_addr != 0) {
        uint32_t gw = n->ipv4_gateway;
        if (n->kind == LUNIK_NET_USER) {        /* slirp is the gateway */
            struct host_net_user_addrs ua;
            host_net_user_network(n, &ua);
            gw = ua.host;
        }
        char *a = cli_pvh_ip4(n->ipv4_addr), *g = cli_pvh_ip4(gw);
        char *s = cli_xasprintf(" lunik.ip=%s/%d%s%s", a,
                                cli_pvh_prefix(n->ipv4_netmask),
                                gw ? "," : "", gw ? g : "");
        cli_buf_append(&b, s, strlen(s));
        free(s);
        free(a);
        free(g);
    }
    cli_buf_append(&b, " --", 3);
    for (int i = 0; i < argc; i++)
        encode_arg(&b, argv[i]);
    cli_buf_append(&b, "", 1);
    return (char *)b.data;
}

