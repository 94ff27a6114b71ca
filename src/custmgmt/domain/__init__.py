"""Pure rules: attrs classes, enums, policies and events. No I/O, no clock reads."""
