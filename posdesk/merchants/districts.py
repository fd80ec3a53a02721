"""The ten urban districts of Hangzhou with approximate centre coordinates.
Source: shared/data/hangzhou_districts.csv (public maps, approximate), copied here so that a
deployment does not depend on the shared folder."""

HANGZHOU_DISTRICTS = [
    # code, name_zh, name_en, centre lat, centre lng
    ("shangcheng", "上城区", "Shangcheng", "30.2426", "120.1693"),
    ("gongshu", "拱墅区", "Gongshu", "30.3198", "120.1420"),
    ("xihu", "西湖区", "Xihu", "30.2597", "120.1302"),
    ("binjiang", "滨江区", "Binjiang", "30.2084", "120.2119"),
    ("xiaoshan", "萧山区", "Xiaoshan", "30.1850", "120.2646"),
    ("yuhang", "余杭区", "Yuhang", "30.4193", "120.3000"),
    ("linping", "临平区", "Linping", "30.4210", "120.2993"),
    ("qiantang", "钱塘区", "Qiantang", "30.3227", "120.4938"),
    ("fuyang", "富阳区", "Fuyang", "30.0489", "119.9603"),
    ("linan", "临安区", "Lin'an", "30.2339", "119.7248"),
]
