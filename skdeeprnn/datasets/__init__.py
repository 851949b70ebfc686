"""Data sets bundled with skdeeprnn, read from compressed files inside the package.

- :func:`load_pm25`: Beijing PM2.5 hourly air quality, 2010-2014 (regression,
  forecasting); :func:`pm25_textbook_features` turns it into the deep-RNN
  textbook's 6 numeric inputs.
- :func:`load_time_machine`: H. G. Wells' *The Time Machine* as one string
  (character-level language models).
- :func:`load_gesture_pickup`: PickupGestureWiimoteZ from the UCR archive,
  100 accelerometer sequences of 29 to 361 steps (classification of
  sequences of unequal lengths).

The data files keep their own licenses: the PM2.5 data is CC BY 4.0 (cite it,
see ``load_pm25().DESCR``), the text is in the public domain, and the gesture
recordings come without licence text from the UCR archive, which makes them
freely available for research and asks to be cited (see
``load_gesture_pickup().DESCR``).
"""

from ._gestures import load_gesture_pickup
from ._pm25 import load_pm25, pm25_textbook_features
from ._timemachine import load_time_machine

__all__ = ["load_gesture_pickup", "load_pm25", "load_time_machine", "pm25_textbook_features"]
