# Shared settings of the userspace/ makefiles.  Included by each subdir.
USERSPACE := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
TOPDIR    := $(abspath $(USERSPACE)/..)

CC        ?= cc
CFLAGS    ?= -O2 -g
WARNFLAGS := -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes \
	     -Wstrict-prototypes -Werror
# libwsr.h includes <linux/wsr.h>; take the project's copy.
UAPI_INC  := -I$(TOPDIR)/module/include/uapi
UAPI_H    := $(TOPDIR)/module/include/uapi/linux/wsr.h
LIB_INC   := -I$(USERSPACE)/lib/include $(UAPI_INC)
ALL_CFLAGS = -std=gnu11 $(WARNFLAGS) $(LIB_INC) $(CFLAGS) $(EXTRA_CFLAGS)

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR    ?=

LIBWSR_A  := $(USERSPACE)/lib/libwsr.a

# The JSON reader and writer shared by wsrctl, wsr-vmm and wsrtop; it
# parses with jansson (libjansson-dev).
JSON_SRC  := $(USERSPACE)/common/json.c
JSON_H    := $(USERSPACE)/common/json.h
JSON_INC  := -I$(USERSPACE)/common
JSON_LIBS := -ljansson
