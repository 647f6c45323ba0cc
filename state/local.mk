# state/: see DESIGN.md §2. Sources are added to libsandform.la.
libsandform_la_SOURCES += state/store.c state/store.h
