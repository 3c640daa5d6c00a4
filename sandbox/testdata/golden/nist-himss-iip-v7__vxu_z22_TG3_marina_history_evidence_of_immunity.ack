MSH|^~\&|IISSANDBOX|IISSANDBOX|Test EHR Application|X68|<MSH-7>||ACK^V04^ACK|<MSH-10>|P|2.5.1|||NE|NE|||||Z23^CDCPHINVS
MSA|AE|NIST-IZ-001.00
ERR||RXA^6^3|999^Application error^HL70357|E|1^Illogical Date error^HL70533|||Vaccination date is before the patient's birth date - vaccination not saved
ERR||RXA^8^3|999^Application error^HL70357|E|1^Illogical Date error^HL70533|||Vaccination date is before the patient's birth date - vaccination not saved
ERR||RXA^9^3|999^Application error^HL70357|E|1^Illogical Date error^HL70533|||Vaccination date is before the patient's birth date - vaccination not saved
ERR||RXA^10^3|999^Application error^HL70357|E|1^Illogical Date error^HL70533|||Vaccination date is before the patient's birth date - vaccination not saved
ERR||RXA^12^3|999^Application error^HL70357|E|1^Illogical Date error^HL70533|||Vaccination date is before the patient's birth date - vaccination not saved
