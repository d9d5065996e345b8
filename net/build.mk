# net/build.mk: lwIP (Debian's lwip source, fetched by setup.sh) and its lunik port, guest and host.
LWIP_DIR := third_party/lwip/src
LWIP_SRCS := $(addprefix $(LWIP_DIR)/, core/init.c core/def.c \
    core/inet_chksum.c core/ip.c core/mem.c core/memp.c core/netif.c \
    core/pbuf.c core/stats.c core/sys.c core/tcp.c core/tcp_in.c \
    core/tcp_out.c core/timeouts.c core/udp.c core/ipv4/dhcp.c \
    core/ipv4/etharp.c core/ipv4/icmp.c core/ipv4/ip4.c \
    core/ipv4/ip4_addr.c core/ipv4/ip4_frag.c netif/ethernet.c)

BOTH_SRCS += net/stack.c net/mem.c $(LWIP_SRCS)

# lwIP's headers, then the port's (lwipopts.h, arch/cc.h), for the port,
# the stack and whoever calls lwIP (runtime/netlib.c).
LWIP_INCLUDES := -Inet/include -I$(LWIP_DIR)/include
GUEST_CFLAGS += $(LWIP_INCLUDES)
HOST_CFLAGS += $(LWIP_INCLUDES)

# lwIP is third-party code: built as shipped, its warnings are not ours.
LWIP_WARNINGS := -Wno-unused-but-set-variable -Wno-sign-compare \
    -Wno-address -Wno-type-limits
$(B)/guest/$(LWIP_DIR)/%.o: private GUEST_CFLAGS += $(LWIP_WARNINGS)
$(B)/host/$(LWIP_DIR)/%.o: private HOST_CFLAGS += $(LWIP_WARNINGS)

# The sources exist once scripts/setup.sh has fetched them (Makefile).
$(LWIP_SRCS): | $(SETUP_STAMP)
