"""Trim and convert source models to target formats: the source table (``prepare.SOURCES``, loaders in
``sources``), trimming, the format table (``formats.FORMATS``), the converters, the SSD post-process, the C
arrays of microcontroller targets.

What belongs here: making a target's file from the prepared source. Not here: running a model
(``runtimes``), judging a converted file against its source (``verify``, which a conversion calls before
it keeps the file), packaging for a device (``deploy``). The stages above (deploy, quantize, evaluate) call
conversion; nothing here imports them."""
