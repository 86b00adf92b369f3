"""Chinese for the English strings experiments put in their evidence (captions, tables, notes, units).

Keys are the English text exactly as an experiment writes it, or the same text with
every number replaced by ``#`` (see :func:`dlfaq.report.i18n.zh`); values use ``#``
for the same numbers in the same order.
"""

ZH: dict[str, str] = {
}
