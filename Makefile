# gnnjit: graph neural network inference inside PostgreSQL

EXTENSION = gnnjit
MODULE_big = gnnjit
DATA = gnnjit--0.1.0.sql
PGFILEDESC = "gnnjit - graph neural network inference"

OBJS = \
	src/gnnjit.o \
	src/gnnerror.o \
	src/json.o \
	src/safetensors.o \
	src/program.o \
	src/lower.o \
	src/userprog.o \
	src/hetero.o \
	src/model.o \
	src/graph.o \
	src/keyscan.o \
	src/graphdef.o \
	src/kernels.o \
	src/gemm.o \
	src/exec.o \
	src/infer.o \
	src/prune.o \
	src/subgraph.o \
	src/parallel.o \
	src/stats.o \
	src/progress.o \
	src/generate.o \
	src/scan.o \
	src/wire.o \
	src/shard.o \
	src/dist.o \
	src/citus.o \
	jit/codegen.o

PG_CPPFLAGS = -I$(srcdir)/src -I$(srcdir)/jit -I$(libpq_srcdir)
PG_CFLAGS = -O3

REGRESS = setup layers programs jit scan prune subgraph parallel generate errors privileges limits distributed hetero cora
REGRESS_OPTS = --load-extension=gnnjit

# the code generator module (see below); set before PGXS, which reads it
EXTRA_CLEAN = jit/emit.o jit/gnnjit_llvm$(DLSUFFIX)

# rebuild objects when the headers they include change
override autodepend = yes

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# distributed inference connects to the shards with libpq
SHLIB_LINK_INTERNAL += $(libpq)

# the JIT (jit/) uses LLVM's C API, the LLVM PostgreSQL's llvmjit is built with
override CPPFLAGS += -I$(shell $(LLVM_CONFIG) --includedir)

# The code generator (jit/emit.c) is a module of its own, gnnjit_llvm, the
# only one linking LLVM's shared library: gnnjit loads it with llvmjit,
# only in a session that compiles (loading LLVM costs a session ~60 ms).
LLVM_MODULE = jit/gnnjit_llvm$(DLSUFFIX)

all: $(LLVM_MODULE)

$(LLVM_MODULE): jit/emit.o
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LDFLAGS_SL) -shared -o $@ \
		-L$(shell $(LLVM_CONFIG) --libdir) -lLLVM-$(shell $(LLVM_CONFIG) --version | cut -d. -f1)

.PHONY: install-llvm-module uninstall-llvm-module
install: install-llvm-module
install-llvm-module: $(LLVM_MODULE)
	$(INSTALL_SHLIB) $(LLVM_MODULE) '$(DESTDIR)$(pkglibdir)/'
uninstall: uninstall-llvm-module
uninstall-llvm-module:
	rm -f '$(DESTDIR)$(pkglibdir)/gnnjit_llvm$(DLSUFFIX)'

# The regression suite with gnnjit built under AddressSanitizer and
# UndefinedBehaviorSanitizer, on a private copy of PostgreSQL (see
# test/asan/run.sh); installs nothing, fails on a sanitizer report from gnnjit
.PHONY: asan-check
asan-check:
	PG_CONFIG='$(PG_CONFIG)' bash $(srcdir)/test/asan/run.sh
