# reconciler/: the sandform program. The CLI (argv, printing, exit codes) is
# the binary; everything else lives in libsandform.la, which tests link.
bin_PROGRAMS += sandform
sandform_SOURCES = \
	reconciler/cli.c reconciler/cli.h \
	reconciler/commands.c reconciler/commands.h \
	reconciler/main.c
sandform_CFLAGS = $(AM_CFLAGS) $(SF_DEPS_CFLAGS)
sandform_LDADD = libsandform.la
# One line per command (cmd-NAME.c); kept here because this fragment is
# included after the other folders' ones.
sandform_SOURCES += reconciler/cmd-validate.c
sandform_SOURCES += reconciler/cmd-state.c
# plan: the spec, the diff, plan output and saved plans (core), the shared
# command setup and the refresh walk (core), and the plan command (CLI).
libsandform_la_SOURCES += \
	reconciler/spec.c reconciler/spec.h \
	reconciler/plan.c reconciler/plan.h \
	reconciler/planout.c reconciler/planout.h
libsandform_la_SOURCES += \
	reconciler/refresh.c reconciler/refresh.h \
	reconciler/runctx.c reconciler/runctx.h
sandform_SOURCES += reconciler/cmd-plan.c
