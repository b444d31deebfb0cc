module sessionlab/golesson

go 1.19
