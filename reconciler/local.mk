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
