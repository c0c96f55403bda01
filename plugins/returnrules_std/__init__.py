"""The standard plugin pack of returnrules: the auto-parts domain.

Each module is one plugin, registered through the ``returnrules`` entry-point
group exactly like a third-party plugin; the core never imports any of them.

========== ===========================================================
plugin     adds
========== ===========================================================
delivery   fact ``delivery.days_late``; checks ``delivery_deadline``,
           ``late_delivery``
stock      facts ``stock.on_hand``, ``stock.available``; check
           ``stock_available``; actions ``exchange``, ``cancel_line``;
           data hook ``returnrules_stock_level``
supplier   facts ``supplier.accepts_returns``, ``supplier.days_left``,
           ``supplier.restocking_fee_percent``; check
           ``supplier_accepts``; action ``return_to_supplier``; data
           hook ``returnrules_supplier_terms``
refund     action ``refund``
restock    action ``restock``
scrap      action ``scrap``
notify     action ``notify``
========== ===========================================================
"""
