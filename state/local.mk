# state/: see DESIGN.md §2. Sources are added to libsandform.la.
