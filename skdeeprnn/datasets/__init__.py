"""Data sets bundled with skdeeprnn, read from compressed files inside the package.

- :func:`load_pm25`: Beijing PM2.5 hourly air quality, 2010-2014 (regression,
  forecasting); :func:`pm25_textbook_features` turns it into the deep-RNN
  textbook's 6 numeric inputs.
- :func:`load_time_machine`: H. G. Wells' *The Time Machine* as one string
  (character-level language models).

The data files keep their own licenses: the PM2.5 data is CC BY 4.0 (cite it,
see ``load_pm25().DESCR``), the text is in the public domain.
"""

from ._pm25 import load_pm25, pm25_textbook_features
from ._timemachine import load_time_machine

__all__ = ["load_pm25", "load_time_machine", "pm25_textbook_features"]
