# cli/: the sandform program: main, the option parser and command table,
# one cmd-NAME.c per command, prompts and rendering. Only this folder
# touches argv, stdout and exit(); everything else lives in libsandform.la.
bin_PROGRAMS += sandform
sandform_SOURCES = \
	cli/main.c \
	cli/opt.c cli/opt.h \
	cli/commands.c cli/commands.h \
	cli/completion.c cli/completion.h \
	cli/applycli.c cli/applycli.h \
	cli/gitcli.c cli/gitcli.h \
	cli/progress.c cli/progress.h \
	cli/ndjson.c cli/ndjson.h \
	cli/cmd-init.c \
	cli/cmd-validate.c \
	cli/cmd-state.c \
	cli/cmd-plan.c \
	cli/cmd-apply.c \
	cli/cmd-destroy.c \
	cli/cmd-drift.c cli/drift-history.c \
	cli/cmd-watch.c cli/watch-metrics.c cli/watch-metrics.h \
	cli/watch-http.c cli/watch-http.h cli/sdnotify.c cli/sdnotify.h \
	cli/watch-notify.c cli/watch-notify.h \
	cli/cmd-force-unlock.c \
	cli/cmd-schema.c
sandform_CFLAGS = $(AM_CFLAGS) $(SF_DEPS_CFLAGS) $(MHD_CFLAGS)
sandform_LDADD = libsandform.la $(MHD_LIBS) $(SF_DEPS_LIBS)

# Shell completions, generated from the command table by the program just
# built (sandform completion bash|zsh) and installed where bash-completion
# and zsh look for them.
bashcompletiondir = $(datadir)/bash-completion/completions
bashcompletion_DATA = completions/sandform
zshcompletiondir = $(datadir)/zsh/site-functions
zshcompletion_DATA = completions/_sandform
CLEANFILES += completions/sandform completions/_sandform
completions/sandform: sandform$(EXEEXT)
	$(AM_V_GEN)mkdir -p completions && \
	./sandform$(EXEEXT) completion bash >$@.tmp && mv $@.tmp $@
completions/_sandform: sandform$(EXEEXT)
	$(AM_V_GEN)mkdir -p completions && \
	./sandform$(EXEEXT) completion zsh >$@.tmp && mv $@.tmp $@

TESTS += tests/e2e/t0003-completion.bats
EXTRA_DIST += tests/e2e/t0003-completion.bats

# sandform drift: read-only drift, ignore rules, history; sandform watch
# (issue 12)
TESTS += tests/e2e/t7001-drift.bats
EXTRA_DIST += tests/e2e/t7001-drift.bats
TESTS += tests/e2e/t7002-watch.bats
EXTRA_DIST += tests/e2e/t7002-watch.bats
TESTS += tests/e2e/t7003-deploy-examples.bats tests/e2e/t7004-watch-git.bats
EXTRA_DIST += tests/e2e/t7003-deploy-examples.bats \
	tests/e2e/t7004-watch-git.bats
TESTS += tests/e2e/t7005-watch-stacks.bats
EXTRA_DIST += tests/e2e/t7005-watch-stacks.bats
# the deployment examples it checks
EXTRA_DIST += examples/deploy/README.md examples/deploy/crontab \
	examples/deploy/.gitlab-ci.yml \
	examples/deploy/.github/workflows/sandform.yml \
	examples/deploy/systemd/sandform-watch.service \
	examples/deploy/systemd/sandform-once.service \
	examples/deploy/systemd/sandform-once.timer
