# Sluice: one entry point. `make` builds bin/, `make test` runs every test,
# `make sim SCENARIO=leader-kill` runs a simulation, `make bench` measures.
.DEFAULT_GOAL := all
SHELL := /bin/bash

CC ?= cc
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
PKGS_BROKER := zlib libzstd liblz4 snappy
PKGS_TEST := check rdkafka
PKGS_ALL := $(PKGS_BROKER) $(PKGS_TEST) libfyaml libmicrohttpd

# Install missing packages before anything that needs them (tools/deps.sh
# uses apt-get; it runs only when pkg-config cannot find a library).
DEPS_MISSING := $(shell for p in $(PKGS_ALL); do pkg-config --exists $$p || echo $$p; done)
ifneq ($(DEPS_MISSING),)
ifeq ($(filter deps clean lint format,$(MAKECMDGOALS)),)
$(info Missing libraries: $(DEPS_MISSING); running tools/deps.sh)
DEPS_STATUS := $(shell tools/deps.sh >&2; echo $$?)
endif
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
CFLAGS_COMMON := -std=c11 -D_DEFAULT_SOURCE -g $(WARN) -Ibroker -I. -DSLUICE_VERSION=\"$(VERSION)\" \
                 $(shell pkg-config --cflags $(PKGS_BROKER) 2>/dev/null)
OPT ?= -O2
SAN ?=
BUILD ?= build
CFLAGS_ALL := $(CFLAGS_COMMON) $(OPT) $(SAN) $(CFLAGS)
LIBS_BROKER := $(shell pkg-config --libs $(PKGS_BROKER) 2>/dev/null)
LIBS_CHECK := $(shell pkg-config --libs check 2>/dev/null)
LIBS_RDKAFKA := $(shell pkg-config --libs rdkafka 2>/dev/null)
LIBS_FYAML := $(shell pkg-config --libs libfyaml 2>/dev/null)
LIBS_MHD := $(shell pkg-config --libs libmicrohttpd 2>/dev/null)

BROKER_SRC := $(sort $(shell find broker -name '*.c'))
OS_SRC := $(sort $(filter-out os/main.c,$(wildcard os/*.c)))
# The simulator's library: the world, history and runner (sim/), the fault
# grammar, timeline and swarm drawing (faults/), the report writer
# (reports/); sim/main.c is sluice-sim's main.
SIM_SRC := $(sort $(filter-out sim/main.c,$(wildcard sim/*.c faults/*.c reports/*.c)))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))

BROKER_OBJ := $(BROKER_SRC:%.c=$(BUILD)/%.o)
OS_OBJ := $(OS_SRC:%.c=$(BUILD)/%.o)
SIM_OBJ := $(SIM_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=bin/%)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# bin/sluice-sim is linked with -flto from its own objects (slim LTO
# bytecode, BUILD/lto/): its hot paths cross broker/ and sim/, and this
# runs leader-kill in 8% fewer instructions. The other binaries, the unit
# tests and the mutants (tools/mutant_sim.sh) keep the usual objects. Only
# in the default -O2 build (asan and coverage set their own OPT and SAN);
# SIM_LTO= turns it off.
SIM_LTO ?= $(if $(SAN),,$(if $(filter -O2,$(OPT)),-flto=auto))
LTO_BUILD := $(BUILD)/lto
ifneq ($(SIM_LTO),)
SIM_LINK := $(LTO_BUILD)/sim/main.o $(SIM_SRC:%.c=$(LTO_BUILD)/%.o) $(BROKER_SRC:%.c=$(LTO_BUILD)/%.o)
else
SIM_LINK := $(BUILD)/sim/main.o $(BUILD)/libsim.a $(BUILD)/libbroker.a
endif

# And it is profile-guided (SIM_PGO, on wherever SIM_LTO is): built first
# with -fprofile-generate counters (BUILD/pgo-gen/), which run a training
# set (tools/pgo_train.sh: leader-kill and three more), then again with
# -fprofile-use. A profile moves code and decides what to inline, never what
# the code computes: every trace is the same (the golden runs check it).
# leader-kill runs about 15% faster in wall time. SIM_PGO= builds once.
SIM_PGO ?= $(if $(SIM_LTO),1)
PGO_GEN := $(BUILD)/pgo-gen
PGO_DATA := $(abspath $(BUILD)/pgo-data)
PGO_COUNT := -fprofile-generate=$(PGO_DATA) -fprofile-update=single
# Both builds name a file's profile alike (not by their object paths, which
# differ): so the counted calls to static functions match too.
PGO_NAME = -dumpdir sim-pgo/$(dir $*) -dumpbase $(notdir $*)
ifneq ($(SIM_PGO),)
PGO_USE := -fprofile-use=$(PGO_DATA) -fprofile-partial-training -Wno-missing-profile
PGO_TRAINED := $(PGO_DATA)/trained
# GCC 12 warns of a memcpy past a malloc in the producer's copy() once the
# profile inlines it into the runner (a false range); the usual builds
# compile the same code with -Werror and no such warning.
PGO_LINK := $(PGO_USE) -Wno-stringop-overflow
endif

$(LTO_BUILD)/%.o: %.c $(PGO_TRAINED)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(SIM_LTO) $(PGO_USE) $(if $(PGO_USE),$(PGO_NAME)) -MMD -MP -c $< -o $@

$(PGO_GEN)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(SIM_LTO) $(PGO_COUNT) $(PGO_NAME) -MMD -MP -c $< -o $@

$(PGO_GEN)/sluice-sim: $(PGO_GEN)/sim/main.o $(SIM_SRC:%.c=$(PGO_GEN)/%.o) $(BROKER_SRC:%.c=$(PGO_GEN)/%.o)
	$(CC) $(OPT) $(SIM_LTO) $(PGO_COUNT) $^ $(LIBS_BROKER) $(LIBS_FYAML) -lm -o $@

$(PGO_DATA)/trained: $(PGO_GEN)/sluice-sim tools/pgo_train.sh
	tools/pgo_train.sh $< $(PGO_DATA)

$(BUILD)/libbroker.a: $(BROKER_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libos.a: $(OS_OBJ)
	@rm -f $@; mkdir -p $(dir $@)
	$(if $^,ar rcs $@ $^,printf '!<arch>\n' > $@)

$(BUILD)/libsim.a: $(SIM_OBJ)
	@rm -f $@; mkdir -p $(dir $@)
	$(if $^,ar rcs $@ $^,printf '!<arch>\n' > $@)

SIM_BIN := $(if $(wildcard sim/main.c),bin/sluice-sim)
APP_BIN := bin/sluice-producer-app bin/sluice-consumer-app
all: bin/sluice bin/sluicectl $(APP_BIN) $(SIM_BIN) $(TOOL_BIN)

bin/sluice-sim: $(SIM_LINK)
	@mkdir -p bin
	$(CC) $(OPT) $(SAN) $(SIM_LTO) $(PGO_LINK) $^ $(LIBS_BROKER) $(LIBS_FYAML) -lm -o $@

$(BUILD)/sluice-sim: $(SIM_LINK)
	$(CC) $(OPT) $(SAN) $(SIM_LTO) $(PGO_LINK) $^ $(LIBS_BROKER) $(LIBS_FYAML) -lm -o $@

# The canaries: mutants of tests/mutants.txt (planted bugs) that make test
# checks the simulator catches. Each is build-mutant-<name>/sluice-sim: the
# normal build's objects, with the files that plant it compiled again with
# -DSLUICE_MUTANT_<NAME> (tools/mutant_sim.sh, seconds instead of a whole
# build); make canary CANARIES="name ..." builds any of them.
CANARIES ?= $(shell tools/mutants.sh --canaries | cut -d' ' -f1)
canary: $(BUILD)/sim/main.o $(BUILD)/libsim.a $(BUILD)/libbroker.a
	@$(foreach m,$(CANARIES),tools/mutant_sim.sh $(m) $(BUILD) build-mutant-$(m) \
	  "$(CC) $(CFLAGS_ALL)" "$(LIBS_BROKER) $(LIBS_FYAML) -lm" &&) true

# Mutation testing: every mutant of tests/mutants.txt against the scenarios
# and a swarm sweep; prints which were caught, by which run and checker
# (tools/mutants.sh says how to choose mutants, seeds and the sweep).
mutants:
	MAKE="$(MAKE)" tools/mutants.sh

# The planted assertion: an ASSERT(false) in the Produce handler; the
# simulator's crash report must name its file and line, the seed and the
# replay command.
planted: $(BUILD)/sim/main.o $(BUILD)/libsim.a $(BUILD)/libbroker.a
	@tools/mutant_sim.sh SLUICE_PLANTED_ASSERT $(BUILD) build-planted \
	  "$(CC) $(CFLAGS_ALL)" "$(LIBS_BROKER) $(LIBS_FYAML) -lm"


bin/sluice: $(BUILD)/os/main.o $(BUILD)/libos.a $(BUILD)/libbroker.a
	@mkdir -p bin
	$(CC) $(OPT) $(SAN) $^ $(LIBS_BROKER) $(LIBS_MHD) -lpthread -o $@

# sluicectl: kafka-storage.sh and kafka-metadata-quorum.sh's commands, over
# the same broker/ code as the node (apps/sluicectl/main.c), and the
# topics, consumer-groups, configs and cluster commands over librdkafka;
# its JSON files are read by the apps' one JSON reader (apps/common/json.c).
SLUICECTL_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(sort $(wildcard apps/sluicectl/*.c))) \
  $(BUILD)/apps/common/json.o $(BUILD)/apps/common/text.o
bin/sluicectl: $(SLUICECTL_OBJ) $(BUILD)/libos.a $(BUILD)/libbroker.a
	@mkdir -p bin
	$(CC) $(OPT) $(SAN) $^ $(LIBS_BROKER) $(LIBS_RDKAFKA) -o $@

# The users' web apps (apps/producer, apps/consumer): librdkafka clients
# behind libmicrohttpd, on real threads (they are clients, not broker/).
APP_COMMON_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(sort $(wildcard apps/common/*.c)))
APP_CONSUMER_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(sort $(wildcard apps/consumer/*.c)))
bin/sluice-producer-app $(BUILD)/sluice-producer-app: $(BUILD)/apps/producer/main.o $(APP_COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(OPT) $(SAN) $^ $(LIBS_RDKAFKA) $(LIBS_MHD) -lpthread -o $@
bin/sluice-consumer-app $(BUILD)/sluice-consumer-app: $(APP_CONSUMER_OBJ) $(APP_COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(OPT) $(SAN) $^ $(LIBS_RDKAFKA) $(LIBS_MHD) -lpthread -o $@
# The apps' unit test links their text, JSON, .env and message-ring code only.
$(BUILD)/tests/test_apps: tests/unit/test_apps.c $(BUILD)/apps/common/text.o $(BUILD)/apps/common/json.o \
  $(BUILD)/apps/common/dotenv.o $(BUILD)/apps/consumer/messages.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $^ $(LIBS_CHECK) -lpthread -o $@

$(BUILD)/sluice: $(BUILD)/os/main.o $(BUILD)/libos.a $(BUILD)/libbroker.a
	$(CC) $(OPT) $(SAN) $^ $(LIBS_BROKER) $(LIBS_MHD) -lpthread -o $@

# Every unit test links the shared fixtures (tests/unit/cluster_fixture.c,
# image_fixture.c).
$(BUILD)/tests/%: tests/unit/%.c tests/unit/cluster_fixture.c tests/unit/image_fixture.c $(BUILD)/libsim.a $(BUILD)/libos.a $(BUILD)/libbroker.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit $^ $(LIBS_CHECK) $(LIBS_BROKER) $(LIBS_FYAML) -o $@

bin/%: tests/tools/%.c $(BUILD)/libbroker.a
	@mkdir -p bin
	$(CC) $(CFLAGS_ALL) $^ $(LIBS_RDKAFKA) $(LIBS_BROKER) -lm -o $@

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

# make test builds on every core by itself (unless make was given -j).
JOBS_FLAG = $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(shell nproc))
test:
	@$(MAKE) --no-print-directory $(JOBS_FLAG) all $(UNIT_BIN)
	@$(MAKE) --no-print-directory canary planted
	@tests/run-all.sh $(BUILD) $(UNIT_BIN)

# Unit tests, and the integration suite against a broker built the same way,
# under AddressSanitizer and UBSan, in their own build tree. One sweep seed
# per scenario, and without the million-message and real-socket leader-kill
# tests (each run under ASan by hand), so CI stays well within 30 minutes.
# The integration files run on PYTEST_WORKERS (4) pytest-xdist workers, here
# and in make test: they mostly wait on brokers (elections, session timeouts),
# so four fit on two cores.
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
asan:
	$(MAKE) $(JOBS_FLAG) BUILD=build-asan OPT=-O1 SAN="$(ASAN_FLAGS)" build-asan/sluice \
	  build-asan/sluice-producer-app build-asan/sluice-consumer-app build-asan/sluice-sim $(UNIT_SRC:tests/unit/%.c=build-asan/tests/%)
	tests/run-unit.sh $(UNIT_SRC:tests/unit/%.c=build-asan/tests/%)
	SIM=build-asan/sluice-sim SIM_SWEEP_SEEDS=2..2 SIM_SHORT_SWEEP_SEEDS=2..2 SIM_SWARM_SEEDS=1..12 SIM_QUORUM_SWARM_SEEDS=1..12 \
	  tests/run-sim.sh
	SLUICE_BIN=$(CURDIR)/build-asan/sluice SLUICE_APPS_DIR=$(CURDIR)/build-asan SLUICE_SKIP_VALGRIND=1 SLUICE_SANITIZED=1 \
	  /usr/bin/python3 -m pytest -q --durations=20 -n "$${PYTEST_WORKERS:-4}" --dist loadfile \
	  -p no:cacheprovider tests/integration -k "not million and not survive_leader_kill"

lint:
	@tools/lint.sh

format:
	clang-format -i $$(find broker os apps tests tools sim faults reports -name '*.[ch]' -not -name '*_gen.[ch]')

deps:
	tools/deps.sh

# Regenerate the protocol codecs from Kafka's message schemas.
KAFKA_PROTOCOL ?= ../shared/kafka-protocol
proto:
	/usr/bin/python3 tools/protogen.py $(KAFKA_PROTOCOL)/messages broker/proto --metadata $(KAFKA_PROTOCOL)/metadata

# Runs one scenario: make sim SCENARIO=crash-restart SEED=7
SCENARIO ?= leader-kill
SEED ?= 1
sim: bin/sluice-sim
	bin/sluice-sim --scenario scenarios/$(SCENARIO).yaml --seed $(SEED)

# Golden runs: pins the verdict and key counts of the runs listed in
# tests/golden.txt anew (tests/run-sim.sh checks them in make test).
golden: bin/sluice-sim
	tools/golden.sh write
.PHONY: golden

# Swarm testing: each seed draws a scenario. make swarm SEEDS=1..1000
SEEDS ?= 1..100
swarm: bin/sluice-sim
	bin/sluice-sim --swarm --seeds $(SEEDS) --jobs $(shell nproc)

bench: all
	@bench/run.sh

# Our users' cluster on this machine: three KRaft brokers in combined mode
# (9092-9094, controllers 10092-10094), test-topic, and both web apps on
# 8001 and 8002; data, logs and pids under ./cluster (tools/cluster.sh).
cluster: all
	@tools/cluster.sh start
cluster-stop:
	@tools/cluster.sh stop
.PHONY: cluster cluster-stop

# Coverage of broker/ by the simulator, as a figure (not part of make test):
# sluice-sim built with gcov counters in its own tree, every runnable scenario
# for COVERAGE_SEEDS, a swarm sweep over COVERAGE_SWARM_SEEDS, then per-folder
# line and branch coverage and the functions never reached (tools/coverage.sh).
COV_BUILD := build-cov
coverage:
	$(MAKE) BUILD=$(COV_BUILD) OPT=-O0 SAN=--coverage $(COV_BUILD)/sluice-sim
	@tools/coverage.sh $(COV_BUILD) $(BROKER_SRC)
.PHONY: coverage

clean:
	rm -rf build build-asan build-mutant-* build-mutants build-planted build-cov bin

.PHONY: all unit test asan lint format deps proto sim swarm canary mutants planted bench clean
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
