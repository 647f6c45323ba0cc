# daytona/: see DESIGN.md §2. Sources are added to libsandform.la.
# The Daytona API client: client.h is the interface, transport.h the HTTP
# vtable (libcurl in production), transport-fake.h an in-memory transport
# that unit tests of every module may use.
libsandform_la_SOURCES += \
	daytona/client.h \
	daytona/transport.h \
	daytona/transport-fake.h
