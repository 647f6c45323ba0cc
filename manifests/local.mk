# manifests/: the manifest model, YAML loader, validation, secret refs
# (DESIGN.md §2-3). Sources are added to libsandform.la.
libsandform_la_SOURCES += \
	manifests/diag.h \
	manifests/manifest.h
libsandform_la_SOURCES += \
	manifests/diag.c \
	manifests/manifest.c \
	manifests/ytree.c manifests/ytree.h
