"""What seeded customers write, per language: names, subjects, first messages, the agents'
replies and follow-ups. `{n}` is an order, invoice or contract number, `{d}` a domain, `{m}` a
month."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Texts:
    names: tuple[str, ...]
    subjects: tuple[str, ...]
    bodies: tuple[str, ...]
    replies: tuple[str, ...]
    follow_ups: tuple[str, ...]


TEXTS: dict[str, Texts] = {
    "az": Texts(
        names=(
            "Elvin Məmmədov",
            "Günay Əliyeva",
            "Rəşad Hüseynov",
            "Leyla Quliyeva",
            "Orxan İsmayılov",
            "Nərmin Həsənova",
            "Tural Abbasov",
            "Səbinə Rzayeva",
        ),
        subjects=(
            "{d} saytı açılmır",
            "{n} nömrəli sifariş üçün ödəniş keçmədi",
            "Hesab-faktura {n} səhvdir",
            "Poçt qutusuna giriş alınmır ({d})",
            "{m} ayı üçün hesabdan iki dəfə pul çıxılıb",
            "SSL sertifikatı {d} üçün yenilənmədi",
            "Müqavilə {n} üzrə tarifi dəyişmək istəyirəm",
            "DNS qeydləri {d} üçün işləmir",
        ),
        bodies=(
            "Salam. Bu gün səhərdən {d} saytı açılmır, brauzer 502 xətası göstərir. "
            "Zəhmət olmasa yoxlayın.",
            "Kartdan pul çıxılıb, amma {n} nömrəli sifariş hələ də ödənilməmiş görünür. "
            "Qəbzi əlavə edə bilərəm.",
            "Hesab-faktura {n} üzərində şirkətin adı və VÖEN səhv yazılıb. "
            "Düzəliş edib yenidən göndərin.",
            "Dünən parolu dəyişdim, indi poçt proqramı parolu qəbul etmir. Hesab {d} domenindədir.",
        ),
        replies=(
            "Salam! Müraciətinizə baxırıq, qısa müddətdə cavab verəcəyik.",
            "Problemi yoxladıq: server tərəfdə düzəliş etdik, zəhmət olmasa yenidən yoxlayın.",
            "Ödənişi bankla dəqiqləşdirdik, sifarişiniz artıq ödənilmiş kimi görünür.",
            "Yeni hesab-faktura hazırdır, şəxsi kabinetdə yükləyə bilərsiniz.",
        ),
        follow_ups=(
            "Təşəkkür edirəm, indi hər şey qaydasındadır.",
            "Hələ də eyni xəta çıxır, ekran şəklini əlavə edirəm.",
            "Bəs bu nə qədər vaxt aparacaq?",
        ),
    ),
    "en": Texts(
        names=(
            "James Carter",
            "Emily Stone",
            "Daniel Brooks",
            "Sophie Turner",
            "Michael Reed",
            "Hannah Price",
            "Oliver Grant",
            "Grace Palmer",
        ),
        subjects=(
            "{d} returns error 502 since this morning",
            "Payment for order {n} failed but card was charged",
            "Invoice {n} has the wrong company name",
            "Cannot log in to webmail on {d}",
            "Charged twice for {m}",
            "SSL certificate for {d} expired",
            "Upgrade contract {n} to the business plan",
            "DNS changes for {d} not propagating",
        ),
        bodies=(
            "Since about 9 am {d} answers with a 502 Bad Gateway. Nothing changed on our "
            "side. Could you check the server?",
            "My card was charged for order {n}, yet the order still shows as unpaid. "
            "I can send the bank statement.",
            "Invoice {n} shows our old company name and tax id. Please reissue it with "
            "the details from our profile.",
            "After changing my password yesterday the mail client keeps asking for it again. "
            "The account is on {d}.",
        ),
        replies=(
            "Thank you for reporting this, we are looking into it now.",
            "We found the cause on the server and fixed it. Could you check again?",
            "The payment is confirmed by the bank and the order is now marked as paid.",
            "A corrected invoice is available in your account under Billing.",
        ),
        follow_ups=(
            "Thanks, it works now.",
            "Still the same error, screenshot attached.",
            "Is there an estimate for when this will be done?",
        ),
    ),
    "fa": Texts(
        names=(
            "علی رضایی",
            "مریم احمدی",
            "حسین کریمی",
            "زهرا موسوی",
            "محمد حسینی",
            "فاطمه صادقی",
            "رضا نوری",
            "سارا جعفری",
        ),
        subjects=(
            "سایت {d} از صبح باز نمی‌شود",
            "پرداخت سفارش {n} انجام نشد ولی مبلغ کسر شد",
            "فاکتور {n} نام شرکت را اشتباه دارد",
            "ورود به ایمیل {d} ممکن نیست",
            "برای ماه {m} دو بار از حساب برداشت شده",
            "گواهی SSL دامنه {d} منقضی شده",
            "تغییر تعرفه قرارداد {n}",
            "رکوردهای DNS دامنه {d} اعمال نمی‌شود",
        ),
        bodies=(
            "از ساعت ۹ صبح سایت {d} خطای ۵۰۲ می‌دهد. لطفا سرور را بررسی کنید.",
            "مبلغ سفارش {n} از کارت کسر شده اما سفارش هنوز پرداخت‌نشده نمایش داده می‌شود.",
            "در فاکتور {n} نام شرکت و شناسه ملی اشتباه درج شده است. لطفا اصلاح کنید.",
            "دیروز رمز عبور را عوض کردم و حالا برنامه ایمیل رمز را قبول نمی‌کند. "
            "حساب روی دامنه {d} است.",
        ),
        replies=(
            "با سلام، درخواست شما در حال بررسی است.",
            "مشکل در سمت سرور برطرف شد، لطفا دوباره بررسی بفرمایید.",
            "پرداخت شما توسط بانک تایید شد و سفارش پرداخت‌شده است.",
            "فاکتور اصلاح‌شده در پنل کاربری شما قرار گرفت.",
        ),
        follow_ups=(
            "ممنون، الان درست شد.",
            "هنوز همان خطا را می‌بینم، تصویر را پیوست کردم.",
            "حدودا چقدر زمان می‌برد؟",
        ),
    ),
    "ru": Texts(
        names=(
            "Иван Петров",
            "Ольга Смирнова",
            "Дмитрий Козлов",
            "Анна Волкова",
            "Сергей Новиков",
            "Мария Соколова",
            "Алексей Морозов",
            "Елена Лебедева",
        ),
        subjects=(
            "Сайт {d} не открывается с утра",
            "Оплата заказа {n} не прошла, деньги списаны",
            "В счёте {n} неверное название компании",
            "Не могу войти в почту на {d}",
            "Двойное списание за {m}",
            "Истёк SSL-сертификат для {d}",
            "Смена тарифа по договору {n}",
            "Не применяются DNS-записи для {d}",
        ),
        bodies=(
            "С девяти утра сайт {d} отдаёт ошибку 502. У нас ничего не менялось, "
            "проверьте, пожалуйста, сервер.",
            "Деньги за заказ {n} списались с карты, но заказ всё ещё числится неоплаченным. "
            "Могу прислать выписку.",
            "В счёте {n} указано старое название компании и ИНН. Перевыставьте, пожалуйста.",
            "Вчера сменил пароль, теперь почтовый клиент его не принимает. Ящик на {d}.",
        ),
        replies=(
            "Здравствуйте! Заявка принята, разбираемся.",
            "Нашли причину на сервере и исправили. Проверьте, пожалуйста, ещё раз.",
            "Банк подтвердил платёж, заказ отмечен как оплаченный.",
            "Исправленный счёт доступен в личном кабинете в разделе «Счета».",
        ),
        follow_ups=(
            "Спасибо, теперь всё работает.",
            "Ошибка осталась, прикладываю скриншот.",
            "Подскажите, сколько это займёт времени?",
        ),
    ),
    "tr": Texts(
        names=(
            "Mehmet Yılmaz",
            "Ayşe Kaya",
            "Mustafa Demir",
            "Zeynep Çelik",
            "Ahmet Şahin",
            "Elif Yıldız",
            "Emre Aydın",
            "Fatma Öztürk",
        ),
        subjects=(
            "{d} sitesi sabahtan beri açılmıyor",
            "{n} numaralı siparişin ödemesi geçmedi",
            "{n} numaralı faturada firma adı yanlış",
            "{d} e-posta hesabına giriş yapamıyorum",
            "{m} ayı için iki kez ücret alındı",
            "{d} için SSL sertifikası yenilenmedi",
            "{n} numaralı sözleşmede paket değişikliği",
            "{d} DNS kayıtları güncellenmiyor",
        ),
        bodies=(
            "Sabah dokuzdan beri {d} 502 hatası veriyor. Bizim tarafta bir değişiklik "
            "yapılmadı, sunucuyu kontrol eder misiniz?",
            "{n} numaralı sipariş için kartımdan ödeme çekildi ama sipariş hâlâ ödenmemiş "
            "görünüyor. Dekontu gönderebilirim.",
            "{n} numaralı faturada eski firma adımız ve vergi numaramız yazıyor. "
            "Düzeltip yeniden gönderir misiniz?",
            "Dün şifremi değiştirdim, e-posta programı yeni şifreyi kabul etmiyor. "
            "Hesap {d} alan adında.",
        ),
        replies=(
            "Merhaba, talebiniz inceleniyor.",
            "Sunucu tarafındaki sorunu giderdik, tekrar kontrol eder misiniz?",
            "Ödemeniz banka tarafından onaylandı, sipariş ödendi olarak işaretlendi.",
            "Düzeltilmiş fatura müşteri panelinizde yer alıyor.",
        ),
        follow_ups=(
            "Teşekkürler, şimdi çalışıyor.",
            "Aynı hata devam ediyor, ekran görüntüsü ekledim.",
            "Ne kadar sürer acaba?",
        ),
    ),
}
LANGUAGES = list(TEXTS)
LANGUAGE_WEIGHTS = [35, 20, 10, 20, 15]  # az, en, fa, ru, tr
MONTHS = ("01.2025", "02.2025", "03.2025", "04.2025", "05.2025", "06.2025")
DOMAIN_WORDS = (
    "bakutrade",
    "kaspi",
    "novaline",
    "sarhad",
    "mavi",
    "yildiz",
    "parsnet",
    "gulshan",
    "avrora",
    "ipek",
)
