"""Results: writing a settlement (:mod:`.writer`), the household_series formula (:mod:`.series`),
DataFrame readers (:mod:`.readers`) and chunked streams for export (:mod:`.streams`)."""
