"""The integrations with other tools (GDAL, pystac-client, Dask), each imported only when used."""
