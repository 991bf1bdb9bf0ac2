#!/bin/sh
# A CJK font for the digest charts' Chinese labels. Best effort: without one the charts
# fall back to Latin labels, and nothing else depends on it.
if command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh family | grep -q .; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing a CJK font (fonts-wqy-microhei) for the charts"
    (apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1 \
        || (apt-get update -qq >/dev/null 2>&1 \
            && apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1)) \
        || echo "note: could not install a CJK font; charts will use Latin labels"
else
    echo "note: no CJK font found; install fonts-wqy-microhei for Chinese chart labels"
fi
exit 0
