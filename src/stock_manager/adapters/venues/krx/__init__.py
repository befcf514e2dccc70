"""The Korea Exchange (KRX): tick tables, the ±30 % daily band, costs and the dated sell tax, session phases
and the XKRX calendar. Used by the KIS adapter, the KIS-compatible simulator and the replaying simulator."""
